import { existsSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import { bundlePath, findWorkspaceRoot, waitForDevstack } from '@tally/devstack';
import { MongoClient } from 'mongodb';
import { measureConsumers } from './consumers';
import { runEngineComparison } from './engine';
import { createCleanup, type BenchContext } from './context';
import { runIngest } from './ingest';
import { runPartitions } from './partitions';
import { runLive } from './live';
import { describeMachine, describeServers } from './machine';
import { parseBenchArgs, UsageError, USAGE, type BenchOptions, type Phase } from './options';
import { runQuery } from './query';
import { runRetention } from './retention';
import { runZones } from './zones';
import { markdown, writeResult } from './report';

/** The apps whose built bundles each phase runs. */
const BUNDLES_OF = {
  ingest: ['processor'],
  partitions: ['processor'],
  query: ['api'],
  zones: ['api'],
  retention: ['processor'],
  engine: [],
  live: ['processor', 'api'],
} as const satisfies Record<Phase, readonly string[]>;

const log = (line: string) => process.stderr.write(`${line}\n`);
/** Set on SIGINT/SIGTERM: the cleanup then ends the process, and a phase failing meanwhile is expected. */
let interrupted = false;

async function main(argv: readonly string[]): Promise<number> {
  let options: BenchOptions;
  try {
    options = parseBenchArgs(argv);
  } catch (error) {
    if (!(error instanceof UsageError)) throw error;
    log(`${error.message}\n\n${USAGE}`);
    return 2;
  }
  if (options.help) {
    process.stdout.write(`${USAGE}\n`);
    return 0;
  }

  const root = findWorkspaceRoot(import.meta.dirname);
  const missing = [...new Set(options.phases.flatMap((phase) => BUNDLES_OF[phase]))].filter((app) => !existsSync(bundlePath(root, app)));
  if (missing.length > 0) {
    const build = `npx nx run-many -t build -p ${missing.join(',')}`;
    log(`No bundle of ${missing.join(', ')}: run \`${build}\` (npm run bench does)`);
    return 1;
  }

  log('waiting for the devstack (npm run bench starts it)');
  const urls = await waitForDevstack({ root });
  const mongo = await MongoClient.connect(urls.mongodbUri);
  const cleanup = createCleanup();
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.once(signal, () => {
      log(`\n${signal}: removing what the benchmark created`);
      interrupted = true;
      void cleanup.runAll().finally(() => process.exit(130));
    });
  }
  const context: BenchContext = { root, urls, mongo, runId: Date.now().toString(36), cleanup };
  try {
    const startedAt = new Date().toISOString();
    const machine = describeMachine();
    const servers = await describeServers(root, urls, mongo);
    const ingest = options.phases.includes('ingest') ? await runIngest(context, options) : undefined;
    const consumers = options.phases.includes('ingest') ? await measureConsumers(context, options.readings, options.devices) : undefined;
    const partitions = options.phases.includes('partitions') ? await runPartitions(context, options) : undefined;
    const query = options.phases.includes('query') ? await runQuery(context, options) : undefined;
    const zones = options.phases.includes('zones') ? await runZones(context, options) : undefined;
    const retention = options.phases.includes('retention') ? await runRetention(context, options) : undefined;
    const engine = options.phases.includes('engine') ? await runEngineComparison(context, options) : undefined;
    const live = options.phases.includes('live') ? await runLive(context, options) : undefined;
    const result = {
      version: 1 as const,
      startedAt,
      finishedAt: new Date().toISOString(),
      quick: options.quick,
      sizes: {
        readings: options.readings,
        naiveReadings: options.naiveReadings,
        queryReadings: options.queryReadings,
        zonesReadings: options.zonesReadings,
        retentionReadings: options.retentionReadings,
        retentionDrain: options.retentionDrain,
        samples: options.samples,
        apiSamples: options.apiSamples,
        healthzSeconds: options.healthzSeconds,
        engineReadings: options.engineReadings,
        devices: options.devices,
        liveClients: options.liveClients,
        liveSeconds: options.liveSeconds,
      },
      processorNodeOptions: options.processorNodeOptions,
      machine,
      servers,
      ...(ingest && { ingest }),
      ...(consumers && { consumers }),
      ...(partitions && { partitions }),
      ...(query && { query }),
      ...(zones && { zones }),
      ...(retention && { retention }),
      ...(engine && { engine }),
      ...(live && { live }),
    };
    const files = writeResult(resolve(root, options.outDir ?? join('bench', 'results')), result);
    process.stdout.write(`\n${markdown(result)}`);
    log(`\nwrote ${relative(root, files.json)} and ${relative(root, files.markdown)}`);
    return 0;
  } finally {
    await cleanup.runAll();
    await mongo.close();
  }
}

main(process.argv.slice(2)).then(
  (code) => {
    if (!interrupted) process.exit(code);
  },
  (error: unknown) => {
    if (interrupted) return;
    log(`bench failed: ${error instanceof Error ? error.message : String(error)}`);
    process.exit(1);
  },
);
