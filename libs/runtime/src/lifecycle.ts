import type { Logger } from 'pino';
import { ConfigError, redactCredentials } from '@tally/config';

export interface ShutdownOptions {
  logger: Logger;
  /**
   * Longest time the close handler may take before the process exits with status 1.
   * @default 10_000
   */
  graceMs?: number;
}

/**
 * Runs `close` once on the first SIGINT or SIGTERM, then exits 0 (1 when `close` fails or
 * overruns `graceMs`). A second signal exits at once.
 */
export function onShutdown(close: () => Promise<void>, { logger, graceMs = 10_000 }: ShutdownOptions): void {
  let closing = false;
  const handle = (signal: NodeJS.Signals) => {
    if (closing) {
      logger.warn({ signal }, 'second signal: exiting now');
      process.exit(1);
    }
    closing = true;
    logger.info({ signal }, 'shutting down');
    setTimeout(() => {
      logger.error({ graceMs }, 'shutdown took too long: exiting');
      process.exit(1);
    }, graceMs).unref();
    close().then(
      () => {
        logger.info('stopped');
        process.exit(0);
      },
      (error: unknown) => {
        logger.error({ err: error }, 'shutdown failed');
        process.exit(1);
      },
    );
  };
  process.on('SIGINT', handle);
  process.on('SIGTERM', handle);
}

/**
 * Ends a process whose start-up failed: a configuration error prints its list of bad variables,
 * anything else one line (a `fatal` log line with the error's message and code, no stack trace).
 * Exit status 1 either way.
 */
export function exitOnStartupError(error: unknown, logger?: Logger): never {
  if (error instanceof ConfigError) process.stderr.write(`${error.message}\n`);
  else if (logger) logger.fatal({ err: describeError(error) }, 'start-up failed');
  else process.stderr.write(`Start-up failed: ${describeError(error)}\n`);
  process.exit(1);
}

/**
 * One line for a log: an error's code and message, and its cause's, without stack traces, and
 * with the credentials of any URL in them hidden.
 */
export function describeError(error: unknown): string {
  return redactCredentials(describe(error));
}

function describe(error: unknown): string {
  if (!(error instanceof Error)) return String(error).split('\n')[0] ?? '';
  const code = (error as { code?: unknown }).code;
  const own = `${typeof code === 'string' ? `${code}: ` : ''}${error.message}`.replace(/\s*\n\s*/g, ' ');
  const cause = error.cause instanceof Error && !error.message.includes(error.cause.message) ? ` (${describe(error.cause)})` : '';
  return `${own}${cause}`;
}
