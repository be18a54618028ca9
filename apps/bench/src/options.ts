import { parseArgs } from 'node:util';

export const PHASES = ['ingest', 'partitions', 'query', 'zones', 'retention', 'engine', 'live'] as const;
export type Phase = (typeof PHASES)[number];

/** The V8 flags the processor's image runs it with (docker/Dockerfile), so RSS reads as deployed. */
export const PROCESSOR_IMAGE_NODE_OPTIONS = '--max-semi-space-size=16 --max-old-space-size=160';
/** The V8 flags the API's image runs it with (docker/Dockerfile): its peak RSS is then the one the 256 Mi limit bounds. */
export const API_IMAGE_NODE_OPTIONS = '--max-semi-space-size=4 --max-old-space-size=128';

export interface Sizes {
  /** Readings published per transport (AMQP, MQTT), each drained by the processor. */
  readings: number;
  /** Readings drained by the naive processor (prefetch 1, batch 1). */
  naiveReadings: number;
  /** Readings over 30 days that the API queries, one database per size. */
  queryReadings: number[];
  /** Readings over a year whose series the API answers in time zones. */
  zonesReadings: number;
  /** Readings over 35 days, those of 31 days then expired (RAW_RETENTION's steps). */
  retentionReadings: number;
  /** Readings the processor drains without, then during, expiry; 0 leaves that comparison out. */
  retentionDrain: number;
  /** Counts per time range through the raw pipeline (the API's answer checked against each), and per engine setting. */
  samples: number;
  /** Queries per time range (and series) through the API: enough for a p99 that is not simply the slowest. */
  apiSamples: number;
  /** Duration of the /healthz load. */
  healthzSeconds: number;
  /** Readings inserted into the engine under each DocumentDB index setting. */
  engineReadings: number;
  /** Devices the ingest and query readings come from (`sim-00001`…), each on its own topic. */
  devices: number;
  /** Live stream clients on one API (compared with one client). */
  liveClients: number;
  /** Seconds of trickle (one reading a second) for one client, then for `liveClients`. */
  liveSeconds: number;
}

export const FULL_SIZES: Sizes = {
  readings: 200_000,
  naiveReadings: 3000,
  queryReadings: [1_000_000, 10_000_000],
  zonesReadings: 1_000_000,
  retentionReadings: 1_000_000,
  retentionDrain: 200_000,
  samples: 5,
  apiSamples: 1000,
  healthzSeconds: 10,
  engineReadings: 1_000_000,
  devices: 10_000,
  liveClients: 1000,
  liveSeconds: 60,
};

export const QUICK_SIZES: Sizes = {
  readings: 5000,
  naiveReadings: 500,
  queryReadings: [20_000],
  zonesReadings: 20_000,
  retentionReadings: 20_000,
  retentionDrain: 5000,
  samples: 3,
  apiSamples: 6,
  healthzSeconds: 2,
  engineReadings: 20_000,
  devices: 100,
  liveClients: 100,
  liveSeconds: 10,
};

export interface BenchOptions extends Sizes {
  quick: boolean;
  phases: readonly Phase[];
  /** Store the query readings again even when a database of that size is kept from a previous run. */
  reseed: boolean;
  /** Directory the JSON result is written to, from the workspace root; `undefined`: `bench/results`. */
  outDir: string | undefined;
  /** `NODE_OPTIONS` of the processor; empty for V8's defaults. */
  processorNodeOptions: string;
  help: boolean;
}

export const USAGE = `Usage: npm run bench -- [options]

Measures Tally on the devstack (Nx starts it, or uses the one running) with the built processor
and API bundles; prints Markdown tables and writes bench/results/<timestamp>.json.

  --quick                  about a minute: ${describe(QUICK_SIZES)}
  --readings N             readings per transport through the processor [${FULL_SIZES.readings}]
  --naive N                readings through the naive processor (prefetch 1, batch 1) [${FULL_SIZES.naiveReadings}]
  --query-readings N[,N]   readings over 30 days that the API queries, one database each
                           [${FULL_SIZES.queryReadings.join(',')}]
  --zones-readings N       readings over a year whose series the API answers in time zones
                           and in UTC (the zones phase) [${FULL_SIZES.zonesReadings}]
  --retention-readings N   readings over 35 days whose raw copies of 31 days are then expired
                           (the retention phase) [${FULL_SIZES.retentionReadings}]
  --retention-drain N      readings a processor drains without, then during, that expiry;
                           0 leaves the comparison out [${FULL_SIZES.retentionDrain}]
  --samples N              counts per time range through the raw pipeline, each also asked of
                           the API, which must answer the same [${FULL_SIZES.samples}]
  --api-samples N          queries per time range, and series, through the API [${FULL_SIZES.apiSamples}]
  --healthz-seconds S      duration of the GET /healthz load [${FULL_SIZES.healthzSeconds}]
  --engine-readings N      readings inserted and counted under each DocumentDB index setting,
                           in private engines (FerretDB + DocumentDB only) [${FULL_SIZES.engineReadings}]
  --devices N              devices the ingest and query readings come from, sim-00001… on
                           topics status/<device> [${FULL_SIZES.devices}]
  --live-clients N         stream clients on one API in the live phase, beside a run with one
                           [${FULL_SIZES.liveClients}]
  --live-seconds S         seconds of one reading a second, per live run [${FULL_SIZES.liveSeconds}]
  --only ingest|partitions|query|zones|retention|engine|live
                           run one phase only (partitions: the drain of --readings through
                           1, 4 and 16 partitions by one and two processors, then 3 on a
                           three-node cluster of its own, which --quick leaves out)
  --reseed                 store the query readings again even if kept from an earlier run
  --out DIR                write the JSON into DIR, relative to the workspace root [bench/results]
  --processor-node-options=S
                           NODE_OPTIONS of the processor, "" for V8's defaults (S starts
                           with a dash, so it follows an =)
                           [${PROCESSOR_IMAGE_NODE_OPTIONS}, as in its image]
  --help                   print this and exit`;

function describe(sizes: Sizes): string {
  return (
    `--readings ${sizes.readings} --naive ${sizes.naiveReadings}\n${' '.repeat(27)}` +
    `--query-readings ${sizes.queryReadings.join(',')} --zones-readings ${sizes.zonesReadings} --retention-readings ${sizes.retentionReadings}\n${' '.repeat(27)}--samples ${sizes.samples} --api-samples ${sizes.apiSamples} --healthz-seconds ${sizes.healthzSeconds}\n` +
    `${' '.repeat(27)}--engine-readings ${sizes.engineReadings} --devices ${sizes.devices} --live-clients ${sizes.liveClients} --live-seconds ${sizes.liveSeconds}`
  );
}

/** A command line the harness cannot run; its message says what to change. */
export class UsageError extends Error {
  override name = 'UsageError';
}

const SIZE_FLAGS = {
  readings: 'readings',
  naive: 'naiveReadings',
  'zones-readings': 'zonesReadings',
  'retention-readings': 'retentionReadings',
  samples: 'samples',
  'api-samples': 'apiSamples',
  'healthz-seconds': 'healthzSeconds',
  'engine-readings': 'engineReadings',
  devices: 'devices',
  'live-clients': 'liveClients',
  'live-seconds': 'liveSeconds',
} as const satisfies Record<string, Exclude<keyof Sizes, 'queryReadings'>>;

/** Reads the harness's command line; explicit sizes win over `--quick`'s. */
export function parseBenchArgs(argv: readonly string[]): BenchOptions {
  let parsed;
  try {
    parsed = parseArgs({
      args: [...argv],
      strict: true,
      allowPositionals: false,
      options: {
        quick: { type: 'boolean', default: false },
        readings: { type: 'string' },
        naive: { type: 'string' },
        'query-readings': { type: 'string' },
        'zones-readings': { type: 'string' },
        'retention-readings': { type: 'string' },
        'retention-drain': { type: 'string' },
        samples: { type: 'string' },
        'api-samples': { type: 'string' },
        'healthz-seconds': { type: 'string' },
        'engine-readings': { type: 'string' },
        devices: { type: 'string' },
        'live-clients': { type: 'string' },
        'live-seconds': { type: 'string' },
        only: { type: 'string' },
        reseed: { type: 'boolean', default: false },
        out: { type: 'string' },
        'processor-node-options': { type: 'string', default: PROCESSOR_IMAGE_NODE_OPTIONS },
        help: { type: 'boolean', short: 'h', default: false },
      },
    });
  } catch (error) {
    throw new UsageError((error as Error).message, { cause: error });
  }
  const { values } = parsed;
  const sizes = { ...(values.quick ? QUICK_SIZES : FULL_SIZES) };
  for (const [flag, key] of Object.entries(SIZE_FLAGS) as [keyof typeof SIZE_FLAGS, Exclude<keyof Sizes, 'queryReadings'>][]) {
    const raw = values[flag];
    if (raw !== undefined) sizes[key] = positiveInteger(flag, raw);
  }
  const retentionDrain = values['retention-drain'];
  if (retentionDrain !== undefined) sizes.retentionDrain = retentionDrain === '0' ? 0 : positiveInteger('retention-drain', retentionDrain);
  const queryReadings = values['query-readings'];
  if (queryReadings !== undefined) {
    sizes.queryReadings = queryReadings.split(',').map((size) => positiveInteger('query-readings', size.trim()));
  }
  const only = values.only;
  if (only !== undefined && !PHASES.includes(only as Phase)) {
    throw new UsageError(`--only: expected one of ${PHASES.join(', ')}, got "${only}"`);
  }
  return {
    ...sizes,
    quick: values.quick,
    phases: only === undefined ? PHASES : [only as Phase],
    reseed: values.reseed,
    outDir: values.out,
    processorNodeOptions: values['processor-node-options'],
    help: values.help,
  };
}

function positiveInteger(flag: string, raw: string): number {
  const value = Number(raw.replaceAll('_', ''));
  if (!/^\d[\d_]*$/.test(raw) || !Number.isSafeInteger(value) || value < 1) {
    throw new UsageError(`--${flag}: expected a positive integer, got "${raw}"`);
  }
  return value;
}
