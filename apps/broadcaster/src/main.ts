import { createLogger, exitOnStartupError, onShutdown } from '@tally/runtime';
import { startBroadcaster } from './broadcaster';
import { BROADCASTER_USAGE, loadBroadcasterConfig } from './config';

async function main(): Promise<void> {
  const config = loadBroadcasterConfig({ argv: process.argv.slice(2) });
  if (config.help) {
    process.stdout.write(`${BROADCASTER_USAGE}\n`);
    return;
  }
  const logger = createLogger({ name: 'broadcaster', level: config.logLevel });
  const broadcaster = startBroadcaster(config, logger);
  // The stop's grace: its publish bound, then 2 s to close the connections (5 s by default).
  onShutdown(() => broadcaster.close(), { logger, graceMs: config.stopTimeoutMs + 2000 });
  // With --count: done once every reading is acknowledged.
  await broadcaster.finished;
  await broadcaster.close();
  process.exit(0);
}

main().catch((error: unknown) => exitOnStartupError(error));
