import type { Logger } from 'pino';
import { ConfigError } from './errors';

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
 * anything else is logged with its cause. Exit status 1 either way.
 */
export function exitOnStartupError(error: unknown, logger?: Logger): never {
  if (error instanceof ConfigError) process.stderr.write(`${error.message}\n`);
  else if (logger) logger.fatal({ err: error }, 'start-up failed');
  else process.stderr.write(`Start-up failed: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
}
