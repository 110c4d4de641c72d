import { Presets, SingleBar } from 'cli-progress';

/** What a scan reports while it pages through resources. */
export interface ScanProgress {
  start(listings: number): void;
  /** A listing (a rule over one region) begins. */
  listing(label: string): void;
  resource(): void;
  /** A listing ended, listed in full or failed. */
  listed(): void;
  stop(): void;
}

export const silentProgress: ScanProgress = {
  start() {},
  listing() {},
  resource() {},
  listed() {},
  stop() {},
};

/**
 * A progress bar on `stream` while a person watches it; silent when the stream is not a terminal
 * (a pipe, a file, CI, tests), so what is captured there is only the result.
 */
export function scanProgress(stream: NodeJS.WriteStream): ScanProgress {
  if (!stream.isTTY) return silentProgress;
  const bar = new SingleBar(
    {
      stream,
      format: 'scanning {bar} {value}/{total} listings | {resources} resources | {label}',
      clearOnComplete: true,
      hideCursor: true,
    },
    Presets.shades_classic,
  );
  let resources = 0;
  return {
    start: (listings) => bar.start(listings, 0, { resources, label: '' }),
    listing: (label) => bar.update({ label }),
    resource() {
      resources += 1;
      bar.update({ resources });
    },
    listed: () => bar.increment(),
    stop: () => bar.stop(),
  };
}
