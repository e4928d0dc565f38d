import cliProgress from 'cli-progress';

/** A progress reporter: a bar on a terminal, nothing when output is piped (CI, scripts). */
export interface Progress {
  update(done: number, total: number, label?: string): void;
  stop(): void;
}

/** Creates a progress bar on stderr (so stdout stays clean for `--json`). */
export function progressBar(title: string, enabled = process.stderr.isTTY === true): Progress {
  if (!enabled) return { update: () => undefined, stop: () => undefined };
  const bar = new cliProgress.SingleBar(
    {
      format: `${title} [{bar}] {percentage}% | {value}/{total} {label}`,
      stream: process.stderr,
      hideCursor: true,
      clearOnComplete: false,
    },
    cliProgress.Presets.shades_classic,
  );
  let started = false;
  return {
    update(done, total, label = '') {
      if (!started) {
        bar.start(Math.max(total, 1), done, { label });
        started = true;
      }
      bar.setTotal(Math.max(total, 1));
      bar.update(done, { label });
    },
    stop() {
      if (started) bar.stop();
    },
  };
}
