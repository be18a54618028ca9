import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { join } from 'node:path';

export interface LogLine {
  level: number;
  msg: string;
  [key: string]: unknown;
}

export interface RunningApp {
  lines: LogLine[];
  /** Resolves with the first log line whose `msg` is `msg` (now or later). */
  waitForLog(msg: string, timeoutMs?: number): Promise<LogLine>;
  /** Resolves with the exit code (null when killed by a signal). */
  exited: Promise<number | null>;
  pid: number | undefined;
  kill(signal: NodeJS.Signals): void;
}

export interface RunAppOptions {
  /** The app's directory, holding `src/main.ts`. */
  appDir: string;
  /**
   * The TypeScript entry to run, relative to `appDir`, e.g. a test harness around the app's modules.
   * @default "src/main.ts"
   */
  source?: string;
  /** A built bundle to run with plain `node` instead of the TypeScript source. */
  bundle?: string;
  args?: readonly string[];
  /** The app's environment: only PATH is inherited, so tests say everything the app reads. */
  env: Record<string, string>;
}

/** The bundle `nx build <app>` writes under the workspace `root`, as the app's image runs it. */
export function bundlePath(root: string, app: string): string {
  return join(root, 'dist', 'apps', app, 'main.js');
}

/**
 * Runs an app from its TypeScript source, as `nx serve` does (or its built bundle, as a container
 * does), and collects its JSON log lines.
 */
export function runApp({ appDir, source = 'src/main.ts', bundle, args = [], env }: RunAppOptions): RunningApp {
  const entry = bundle ? [bundle] : ['--import', 'tsx', join(appDir, source)];
  const child = spawn(process.execPath, [...entry, ...args], {
    cwd: appDir,
    env: { PATH: process.env['PATH'], LOG_LEVEL: 'info', ...env },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const lines: LogLine[] = [];
  const waiters: { msg: string; resolve: (line: LogLine) => void }[] = [];
  createInterface({ input: child.stdout }).on('line', (text) => {
    let line: LogLine;
    try {
      line = JSON.parse(text) as LogLine;
    } catch {
      return;
    }
    lines.push(line);
    for (const waiter of waiters.filter((w) => w.msg === line.msg)) waiter.resolve(line);
  });
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return {
    lines,
    exited,
    pid: child.pid,
    kill: (signal) => child.kill(signal),
    waitForLog: (msg, timeoutMs = 30_000) => {
      const seen = lines.find((line) => line.msg === msg);
      if (seen) return Promise.resolve(seen);
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`no "${msg}" log line within ${timeoutMs} ms`)), timeoutMs);
        waiters.push({
          msg,
          resolve: (line) => {
            clearTimeout(timer);
            resolve(line);
          },
        });
      });
    },
  };
}
