/**
 * Peak resident memory per benchmark phase: RSS sampled on a timer (and at each phase boundary),
 * because the process-wide maxRSS never goes down and so cannot tell phases apart. Also the CPU
 * seconds of each phase (all threads of the process): on a shared machine, wall time says how busy
 * the neighbours were, CPU time what the work cost. The RSS includes child processes (the graph's,
 * during a rebuild), read from /proc where there is one.
 */
import { readdirSync, readFileSync } from 'node:fs';

/** Samples RSS while a phase runs and keeps each phase's peak in MB and its CPU seconds. */
export class RssSampler {
  private readonly peaks = new Map<string, number>();
  private readonly cpu = new Map<string, number>();
  private current: string | null = null;
  private cpuAtStart: NodeJS.CpuUsage | null = null;
  private timer: NodeJS.Timeout | null = null;

  constructor(private readonly everyMs = 20) {}

  /** Starts a phase (ending the previous one). */
  begin(phase: string): void {
    this.end();
    this.current = phase;
    this.cpuAtStart = process.cpuUsage();
    this.sample();
    this.timer = setInterval(() => this.sample(), this.everyMs);
    // The sampler must never keep the process alive.
    this.timer.unref();
  }

  /** Ends the current phase, if any. */
  end(): void {
    if (this.current === null) return;
    this.sample();
    const used = process.cpuUsage(this.cpuAtStart ?? undefined);
    this.cpu.set(this.current, (this.cpu.get(this.current) ?? 0) + (used.user + used.system) / 1e6);
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    this.current = null;
  }

  /** Peak RSS of each phase in MB, in the order the phases ran. */
  result(): Record<string, number> {
    return Object.fromEntries([...this.peaks].map(([k, v]) => [k, Math.round(v)]));
  }

  /** CPU seconds of each phase, rounded to 0.01. */
  cpuSeconds(): Record<string, number> {
    return Object.fromEntries([...this.cpu].map(([k, v]) => [k, Math.round(v * 100) / 100]));
  }

  /** The largest peak of any phase, MB. */
  max(): number {
    return Math.round(Math.max(0, ...this.peaks.values()));
  }

  private sample(): void {
    if (this.current === null) return;
    const mb = (process.memoryUsage.rss() + childrenRss(process.pid)) / 2 ** 20;
    this.peaks.set(this.current, Math.max(this.peaks.get(this.current) ?? 0, mb));
  }
}

/** Resident bytes of every descendant process of `pid` (0 where /proc is missing). */
export function childrenRss(pid: number): number {
  let entries: string[];
  try {
    entries = readdirSync('/proc').filter((e) => /^\d+$/.test(e));
  } catch {
    return 0;
  }
  const parentOf = new Map<number, number>();
  const rssOf = new Map<number, number>();
  for (const e of entries) {
    try {
      // /proc/<pid>/stat: "pid (comm) state ppid …"; comm may hold spaces and parentheses.
      const stat = readFileSync(`/proc/${e}/stat`, 'latin1');
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      parentOf.set(Number(e), Number(fields[1]));
      // Field 24 of stat (index 21 after the comm) is the RSS in pages.
      rssOf.set(Number(e), Number(fields[21]) * 4096);
    } catch {
      // The process ended meanwhile.
    }
  }
  let total = 0;
  for (const [child, rss] of rssOf) {
    for (let p = parentOf.get(child); p !== undefined && p > 1; p = parentOf.get(p)) {
      if (p === pid) {
        total += rss;
        break;
      }
    }
  }
  return total;
}
