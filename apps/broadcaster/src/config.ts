import { parseArgs } from 'node:util';
import { STATUSES } from '@tally/contract';
import type { z } from 'zod';
import {
  ConfigError,
  integer,
  parseVariables,
  readEnvironment,
  VARIABLES,
  type BroadcastTransport,
  type LogLevel,
  type ReadEnvironmentOptions,
  type VariableName,
} from '@tally/config';

export interface BroadcasterConfig {
  /** The nodes of one RabbitMQ cluster (or one broker), tried in turn. */
  amqpUrls: readonly string[];
  mqttUrls: readonly string[];
  /** Partitions declared before the first publish. */
  partitions: number;
  transport: BroadcastTransport;
  /** Time between readings (of each device, with `devices`); with `rate` set, `1000 / rate`. */
  intervalMs: number;
  /** Simulated devices (`sim-0001`…), each on its own topic; `undefined`: one stream on `status`, without device. */
  devices: number | undefined;
  /** Readings per second in load mode, else `undefined`. */
  rate: number | undefined;
  /** Stop after this many readings, once all are acknowledged; `undefined` runs until stopped. */
  count: number | undefined;
  /** Publishes in flight at once. */
  window: number;
  /** Readings kept while the broker is unreachable. */
  bufferLimit: number;
  /** How long a stop (SIGTERM, SIGINT) publishes what is held before the process exits. */
  stopTimeoutMs: number;
  /** Port of the /metrics server; `undefined` runs none. */
  metricsPort: number | undefined;
  /** Address that server listens on. */
  metricsHost: string;
  logLevel: LogLevel;
  /** `--help` was given: print `BROADCASTER_USAGE` and exit. */
  help: boolean;
}

interface Flag {
  value: string;
  description: string;
  /** The variable the flag overrides, validated and documented as that variable. */
  variable?: VariableName;
  /** Schema of a flag that has no variable. */
  schema?: z.ZodType<number, string>;
}

const FLAGS = {
  interval: { value: 'MS', variable: 'BROADCAST_INTERVAL_MS', description: 'milliseconds between readings' },
  transport: { value: 'mqtt|amqp', variable: 'BROADCAST_TRANSPORT', description: 'how readings are published' },
  buffer: { value: 'N', variable: 'BROADCAST_BUFFER_LIMIT', description: 'readings kept while the broker is down' },
  count: { value: 'N', schema: integer(1, 1_000_000_000), description: 'stop after N readings, once all are acknowledged' },
  rate: { value: 'R', schema: integer(1, 1_000_000), description: 'load mode: R readings per second (overrides --interval)' },
  devices: {
    value: 'N',
    schema: integer(1, 1_000_000),
    description: 'simulate N devices sim-0001…, each publishing every interval to status/<device> (with --rate, R in total)',
  },
  window: {
    value: 'N',
    schema: integer(1, 100_000),
    description: 'publishes in flight at once (default 1, in order; 1000 with --rate)',
  },
} satisfies Record<string, Flag>;

type FlagName = keyof typeof FLAGS;

export const BROADCASTER_USAGE = [
  'Usage: broadcaster [options]',
  '',
  `Publishes one status reading (${STATUSES[0]}..${STATUSES.at(-1)}) per interval to RabbitMQ, over MQTT or AMQP.`,
  '',
  'Options (each overrides the environment variable named):',
  ...Object.entries(FLAGS).map(([name, flag]: [string, Flag]) => {
    const left = `  --${name} ${flag.value}`.padEnd(26);
    const env = flag.variable ? ` [${flag.variable}, default ${VARIABLES[flag.variable].default}]` : '';
    return `${left}${flag.description}${env}`;
  }),
  '  --help                  print this and exit',
  '',
  'Also read from the environment: AMQP_URL, MQTT_URL, TALLY_PARTITIONS, BROADCAST_METRICS_PORT, BROADCAST_METRICS_HOST, LOG_LEVEL (see .env.example).',
].join('\n');

export interface LoadBroadcasterConfigOptions extends ReadEnvironmentOptions {
  /** Command-line arguments, e.g. `process.argv.slice(2)`. */
  argv?: readonly string[];
}

export function loadBroadcasterConfig(options: LoadBroadcasterConfigOptions = {}): BroadcasterConfig {
  const flags = parseFlags(options.argv ?? []);
  const env = { ...readEnvironment(options) };
  const problems: string[] = [];
  const flagValues: Partial<Record<FlagName, number>> = {};
  for (const [name, raw] of Object.entries(flags.values) as [FlagName, string][]) {
    const flag: Flag = FLAGS[name];
    if (flag.variable) {
      env[flag.variable] = raw;
      continue;
    }
    const result = flag.schema?.safeParse(raw.trim());
    if (result?.success) flagValues[name] = result.data;
    else problems.push(`--${name}: ${result?.error.issues[0]?.message}, got "${raw}"`);
  }
  let variables;
  try {
    variables = parseVariables(
      [
        'AMQP_URL',
        'MQTT_URL',
        'TALLY_PARTITIONS',
        'BROADCAST_INTERVAL_MS',
        'BROADCAST_TRANSPORT',
        'BROADCAST_BUFFER_LIMIT',
        'BROADCAST_STOP_TIMEOUT_MS',
        'BROADCAST_METRICS_PORT',
        'BROADCAST_METRICS_HOST',
        'LOG_LEVEL',
      ],
      env,
    );
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    problems.unshift(...error.problems.map((problem) => withFlagName(problem, flags.values)));
  }
  if (problems.length > 0 || !variables) throw new ConfigError(problems);
  const { rate, count, window, devices } = flagValues;
  return {
    amqpUrls: variables.AMQP_URL,
    mqttUrls: variables.MQTT_URL,
    partitions: variables.TALLY_PARTITIONS,
    transport: variables.BROADCAST_TRANSPORT,
    intervalMs: rate ? 1000 / rate : variables.BROADCAST_INTERVAL_MS,
    devices,
    rate,
    count,
    window: window ?? (rate ? 1000 : 1),
    bufferLimit: variables.BROADCAST_BUFFER_LIMIT,
    stopTimeoutMs: variables.BROADCAST_STOP_TIMEOUT_MS,
    metricsPort: variables.BROADCAST_METRICS_PORT,
    metricsHost: variables.BROADCAST_METRICS_HOST,
    logLevel: variables.LOG_LEVEL,
    help: flags.help,
  };
}

function parseFlags(argv: readonly string[]): { values: Partial<Record<FlagName, string>>; help: boolean } {
  const options = Object.fromEntries(Object.keys(FLAGS).map((name) => [name, { type: 'string' as const }]));
  try {
    const { values } = parseArgs({
      args: [...argv],
      options: { ...options, help: { type: 'boolean', short: 'h' } },
      strict: true,
      allowPositionals: false,
    });
    const { help, ...rest } = values;
    return { values: rest as Partial<Record<FlagName, string>>, help: help === true };
  } catch (error) {
    throw new ConfigError([`${(error as Error).message.split('\n')[0]} (see --help)`], { cause: error });
  }
}

/** `BROADCAST_INTERVAL_MS: ...` becomes `--interval: ...` when the value came from that flag. */
function withFlagName(problem: string, given: Partial<Record<FlagName, string>>): string {
  for (const [name, flag] of Object.entries(FLAGS) as [FlagName, Flag][]) {
    if (flag.variable && given[name] !== undefined && problem.startsWith(`${flag.variable}:`)) {
      return `--${name}${problem.slice(flag.variable.length)}`;
    }
  }
  return problem;
}
