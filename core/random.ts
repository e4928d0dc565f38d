/** A seeded pseudo-random source (mulberry32). Cores never call Math.random(). */
export interface Rng {
  /** A float in [0, 1). */
  next(): number;
}

/** Mulberry32: small, fast, and good enough for initialisation and sampling. */
export function seededRng(seed: number): Rng {
  let a = seed >>> 0;
  return {
    next(): number {
      a = (a + 0x6d2b79f5) >>> 0;
      let t = a;
      t = Math.imul(t ^ (t >>> 15), t | 1);
      t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
      return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
    },
  };
}

/** A 32-bit seed derived from a string (FNV-1a), so seeds can follow ids. */
export function seedOf(text: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}

/** Wall-clock time, injected so cores and workflows stay deterministic. */
export interface Clock {
  /** Milliseconds since the Unix epoch. */
  now(): number;
}

/** The process clock: the only place Date.now() is read. */
export const systemClock: Clock = { now: () => Date.now() };
