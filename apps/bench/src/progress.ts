/** Where progress is drawn: a terminal gets one line redrawn in place, anything else plain lines. */
export interface ProgressStream {
  write(text: string): unknown;
  isTTY?: boolean;
  columns?: number;
}

export interface ProgressOptions {
  label: string;
  /** Units the phase reaches; omitted, the bar follows `seconds` of elapsed time. */
  total?: number;
  /** @default "readings" */
  unit?: string;
  /** How long a phase without `total` lasts. */
  seconds?: number;
  /** @default process.stderr */
  stream?: ProgressStream;
  /**
   * When the stream is not a terminal: a plain line is printed at least this often, and at a
   * tenth of the total passed when the last line is at least a fifth of this old.
   * @default 15_000
   */
  plainIntervalMs?: number;
  /** @default performance.now */
  now?: () => number;
}

export interface Progress {
  /** `done` units of `total` so far. */
  update(done: number): void;
  /** Ends the bar with a one-line summary of the phase. */
  finish(summary: string): void;
  /** Ends the bar without a summary (the phase failed). */
  abort(): void;
}

const BAR_WIDTH = 20;
const REDRAW_MS = 100;
const TICK_MS = 1000;

const format = (n: number) => Math.round(n).toLocaleString('en-US');
const seconds = (ms: number) => `${(ms / 1000).toFixed(1)} s`;

/** A progress bar for one phase of the harness. */
export function startProgress(options: ProgressOptions): Progress {
  const stream = options.stream ?? process.stderr;
  const now = options.now ?? (() => performance.now());
  const unit = options.unit ?? 'readings';
  const plainIntervalMs = options.plainIntervalMs ?? 15_000;
  const tty = stream.isTTY === true;
  const started = now();
  let done = 0;
  let lastDraw = -Infinity;
  let lastTenth = 0;
  let ended = false;

  const fraction = () => {
    if (options.total !== undefined) return options.total > 0 ? Math.min(1, done / options.total) : 1;
    return options.seconds ? Math.min(1, (now() - started) / (options.seconds * 1000)) : 0;
  };
  const counts = () => (options.total === undefined ? '' : ` ${format(done)}/${format(options.total)} ${unit}`);
  const percent = () => `${Math.floor(fraction() * 100)}%`;

  const drawTty = () => {
    const filled = Math.round(fraction() * BAR_WIDTH);
    const bar = `[${'#'.repeat(filled)}${'-'.repeat(BAR_WIDTH - filled)}]`;
    // What matters most comes first: a narrow terminal cuts the end of the line.
    const line = `${options.label} ${bar} ${percent().padStart(4)} ${seconds(now() - started).padStart(7)}${counts()}`;
    stream.write(`\r\x1b[2K${line.slice(0, (stream.columns ?? 80) - 1)}`);
    lastDraw = now();
  };
  const drawPlain = () => {
    stream.write(`${options.label}: ${percent()}${counts()}, ${seconds(now() - started)}\n`);
    lastDraw = now();
  };

  const timer = setInterval(
    () => {
      if (tty) drawTty();
      else if (now() - lastDraw >= plainIntervalMs) drawPlain();
    },
    tty ? TICK_MS : Math.min(plainIntervalMs, TICK_MS * 5),
  );
  timer.unref();
  if (tty) drawTty();
  else drawPlain();

  const end = (line: string | undefined) => {
    if (ended) return;
    ended = true;
    clearInterval(timer);
    if (tty) stream.write(`\r\x1b[2K${line === undefined ? '' : `${line}\n`}`);
    else if (line !== undefined) stream.write(`${line}\n`);
  };

  return {
    update(value) {
      if (ended) return;
      done = value;
      if (tty) {
        if (now() - lastDraw >= REDRAW_MS) drawTty();
        return;
      }
      const tenth = Math.floor(fraction() * 10);
      const age = now() - lastDraw;
      if ((tenth > lastTenth && tenth < 10 && age >= plainIntervalMs / 5) || age >= plainIntervalMs) {
        lastTenth = tenth;
        drawPlain();
      }
    },
    finish: (summary) => end(`${options.label}: ${summary} (${seconds(now() - started)})`),
    abort: () => end(undefined),
  };
}
