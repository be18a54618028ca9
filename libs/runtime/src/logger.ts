import { pino, type Logger } from 'pino';
import { build as prettyStream } from 'pino-pretty';
import type { LogLevel } from '@tally/config';

export type { Logger };

export interface LoggerOptions {
  /** The app's name, on every line as `app`. */
  name: string;
  level: LogLevel;
  /**
   * Human-readable colored lines instead of JSON.
   * @default process.stdout.isTTY
   */
  pretty?: boolean;
}

/** Structured JSON logs on stdout; pretty lines in a terminal. Only apps create loggers. */
export function createLogger({ name, level, pretty = process.stdout.isTTY === true }: LoggerOptions): Logger {
  const options = { level, base: { app: name }, timestamp: pino.stdTimeFunctions.isoTime };
  if (!pretty) return pino(options);
  return pino(options, prettyStream({ colorize: true, translateTime: 'SYS:HH:MM:ss.l', ignore: 'pid,hostname' }));
}
