/**
 * The processor as the fault suite's crash scenario runs it (never shipped: the bundle is built
 * from main.ts): it SIGKILLs itself right after its first raw insert, before it marks the rollups
 * and acks — the window that the rollups' design must survive.
 */
import { loadProcessorConfig } from '@tally/config';
import { createLogger, exitOnStartupError } from '@tally/runtime';
import { createProcessor } from '../processor';

const config = loadProcessorConfig();
const logger = createLogger({ name: 'processor', level: config.logLevel });
createProcessor(config, logger, { afterRawInsert: () => process.kill(process.pid, 'SIGKILL') }).catch((error: unknown) =>
  exitOnStartupError(error, logger),
);
