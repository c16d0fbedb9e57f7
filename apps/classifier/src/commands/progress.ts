import { SingleBar, Presets } from 'cli-progress';

/** A progress bar on stderr (stdout stays machine-readable), silent when stderr is not a terminal. */
export function progressBar(
  label: string,
  total: number,
): { update(done: number, extra?: string): void; stop(): void } {
  if (!process.stderr.isTTY) return { update: () => undefined, stop: () => undefined };
  const bar = new SingleBar(
    {
      format: `${label} [{bar}] {value}/{total} {percentage}% eta {eta_formatted} {extra}`,
      stream: process.stderr,
      hideCursor: true,
    },
    Presets.shades_classic,
  );
  bar.start(total, 0, { extra: '' });
  return {
    update: (done, extra = '') => bar.update(done, { extra }),
    stop: () => bar.stop(),
  };
}
