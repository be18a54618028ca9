import { ConfigError } from './errors';
import { readEnvironment, type Environment, type ReadEnvironmentOptions } from './environment';
import { redactUrlList } from './redact';
import { VARIABLES, type VariableName, type VariableValue } from './variables';

type Values<Names extends VariableName> = { [Name in Names]: VariableValue<Name> };

/**
 * Validates the named variables all at once, so that one start-up error lists every bad value.
 * Unset and empty variables take their documented default.
 */
export function parseVariables<const Names extends VariableName>(
  names: readonly Names[],
  env: Environment,
): Values<Names> {
  const values: Record<string, unknown> = {};
  const problems: string[] = [];
  for (const name of names) {
    const { default: fallback, schema, secret } = VARIABLES[name] as (typeof VARIABLES)[VariableName];
    const raw = env[name] === undefined || env[name] === '' ? fallback : env[name];
    if (raw === undefined) continue;
    const result = schema.safeParse(raw.trim());
    if (result.success) values[name] = result.data;
    else problems.push(`${name}: ${result.error.issues[0]?.message}${secret ? '' : `, got "${redactUrlList(raw)}"`}`);
  }
  if (problems.length > 0) throw new ConfigError(problems);
  return values as Values<Names>;
}

export type LogLevel = VariableValue<'LOG_LEVEL'>;
export type BroadcastTransport = VariableValue<'BROADCAST_TRANSPORT'>;

export interface ProcessorConfig {
  /** The nodes of one RabbitMQ cluster (or one broker); the consumer fails over between them. */
  amqpUrls: readonly string[];
  /** Queues readings are spread over (`tally.status.0` …); the processor consumes every one. */
  partitions: number;
  mongodbUri: string;
  prefetch: number;
  batchSize: number;
  batchMaxWaitMs: number;
  /** Port of the /healthz and /readyz server; `undefined` runs none. */
  healthPort: number | undefined;
  rollupRefreshIntervalMs: number;
  /** Raw readings older than this are deleted (their counts stay in the rollups); `undefined` keeps every one. */
  rawRetentionMs: number | undefined;
  /** Address that server listens on. */
  healthHost: string;
  logLevel: LogLevel;
}

export interface ApiConfig {
  /** The broker whose `tally.changes` tells the live streams what was stored. */
  amqpUrls: readonly string[];
  mongodbUri: string;
  port: number;
  /** Address to listen on. */
  host: string;
  /** Bearer token every request but the health checks must carry; `undefined` turns auth off. */
  token: string | undefined;
  requestTimeoutMs: number;
  /** Most count and series queries at once; past it a request is answered 503. */
  maxConcurrentQueries: number;
  /** Most live streams at once; past it a request is answered 503. */
  maxStreams: number;
  /** Port of the /metrics server; `undefined` runs none. */
  metricsPort: number | undefined;
  /** Address that server listens on. */
  metricsHost: string;
  logLevel: LogLevel;
}

export function loadProcessorConfig(options?: ReadEnvironmentOptions): ProcessorConfig {
  const env = readEnvironment(options);
  const v = parseVariables(
    [
      'AMQP_URL',
      'TALLY_PARTITIONS',
      'MONGODB_URI',
      'PROCESSOR_PREFETCH',
      'PROCESSOR_HEALTH_PORT',
      'PROCESSOR_HEALTH_HOST',
      'BATCH_SIZE',
      'BATCH_MAX_WAIT_MS',
      'ROLLUP_REFRESH_INTERVAL_MS',
      'RAW_RETENTION',
      'LOG_LEVEL',
    ],
    env,
  );
  if (v.BATCH_SIZE > v.PROCESSOR_PREFETCH) {
    throw new ConfigError([
      `BATCH_SIZE: ${v.BATCH_SIZE} is more than PROCESSOR_PREFETCH (${v.PROCESSOR_PREFETCH}), so a batch could never fill and every one would wait BATCH_MAX_WAIT_MS; make BATCH_SIZE at most PROCESSOR_PREFETCH`,
    ]);
  }
  return {
    amqpUrls: v.AMQP_URL,
    partitions: v.TALLY_PARTITIONS,
    mongodbUri: v.MONGODB_URI,
    prefetch: v.PROCESSOR_PREFETCH,
    batchSize: v.BATCH_SIZE,
    batchMaxWaitMs: v.BATCH_MAX_WAIT_MS,
    healthPort: v.PROCESSOR_HEALTH_PORT,
    rollupRefreshIntervalMs: v.ROLLUP_REFRESH_INTERVAL_MS,
    rawRetentionMs: v.RAW_RETENTION,
    healthHost: v.PROCESSOR_HEALTH_HOST,
    logLevel: v.LOG_LEVEL,
  };
}

export function loadApiConfig(options?: ReadEnvironmentOptions): ApiConfig {
  const v = parseVariables(
    [
      'AMQP_URL',
      'MONGODB_URI',
      'API_HOST',
      'API_PORT',
      'API_TOKEN',
      'API_REQUEST_TIMEOUT_MS',
      'API_MAX_CONCURRENT_QUERIES',
      'API_MAX_STREAMS',
      'API_METRICS_PORT',
      'API_METRICS_HOST',
      'LOG_LEVEL',
    ],
    readEnvironment(options),
  );
  return {
    amqpUrls: v.AMQP_URL,
    mongodbUri: v.MONGODB_URI,
    port: v.API_PORT,
    host: v.API_HOST,
    token: v.API_TOKEN,
    requestTimeoutMs: v.API_REQUEST_TIMEOUT_MS,
    maxConcurrentQueries: v.API_MAX_CONCURRENT_QUERIES,
    maxStreams: v.API_MAX_STREAMS,
    metricsPort: v.API_METRICS_PORT,
    metricsHost: v.API_METRICS_HOST,
    logLevel: v.LOG_LEVEL,
  };
}
