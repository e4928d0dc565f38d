/**
 * Peak resident memory per benchmark phase: RSS sampled on a timer (and at each phase boundary),
 * because the process-wide maxRSS never goes down and so cannot tell phases apart. Also the CPU
 * seconds of each phase (all threads of the process): on a shared machine, wall time says how busy
 * the neighbours were, CPU time what the work cost.
 */

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
    const mb = process.memoryUsage.rss() / 2 ** 20;
    this.peaks.set(this.current, Math.max(this.peaks.get(this.current) ?? 0, mb));
  }
}
