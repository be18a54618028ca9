import { loadProcessorConfig } from '@tally/config';
import { createLogger, exitOnStartupError, onShutdown, type Logger } from '@tally/runtime';
import { createProcessor } from './processor';
import { parseRebuildArgs, REBUILD_USAGE, runRebuild, type RebuildArgs } from './rebuild';

/** Set once the logger exists, so that a start-up failure after that is logged (one line). */
let startupLogger: Logger | undefined;

async function main(): Promise<void> {
  let rebuild: RebuildArgs | undefined;
  try {
    rebuild = parseRebuildArgs(process.argv.slice(2));
  } catch (error) {
    process.stderr.write(`${(error as Error).message}\n\n${REBUILD_USAGE}\n`);
    process.exit(2);
  }
  const config = loadProcessorConfig();
  const logger = createLogger({ name: 'processor', level: config.logLevel });
  startupLogger = logger;
  if (rebuild) {
    process.exit(await runRebuild(config.mongodbUri, rebuild, logger));
  }
  const processor = await createProcessor(config, logger);
  onShutdown(() => processor.close(), { logger, graceMs: 10_000 });
}

main().catch((error: unknown) => exitOnStartupError(error, startupLogger));
