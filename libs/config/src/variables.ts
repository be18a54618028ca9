import { ConnectionString } from 'mongodb-connection-string-url';
import { z } from 'zod';
import { splitUrlList, urlListProblem } from './url-list';

export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
export const BROADCAST_TRANSPORTS = ['mqtt', 'amqp'] as const;

/** One broker URL, or several separated by commas (failover); the value is the list. */
function urlList(protocols: readonly string[], expected: string) {
  return z.string().transform((value, ctx) => {
    const problem = urlListProblem(value, { protocols, expected });
    if (problem === undefined) return splitUrlList(value);
    ctx.addIssue({ code: 'custom', message: problem });
    return z.NEVER;
  });
}

/** Characters MongoDB refuses in a database name (on any platform), and its longest name in bytes. */
const DATABASE_NAME_FORBIDDEN = /[/\\. "$*<>:|?\0]/;
const DATABASE_NAME_MAX_BYTES = 63;

function mongoConnectionString() {
  return z.string().transform((value, ctx) => {
    let uri: ConnectionString;
    try {
      // The driver's own parser: a WHATWG URL cannot hold several hosts (`mongodb://a:1,b:2/db`).
      uri = new ConnectionString(value);
      if (uri.hosts.length === 0) throw new Error('no host');
    } catch {
      ctx.addIssue({ code: 'custom', message: 'expected a mongodb:// or mongodb+srv:// connection string' });
      return z.NEVER;
    }
    const problem = databaseNameProblem(uri.pathname.slice(1));
    if (problem === undefined) return value;
    ctx.addIssue({ code: 'custom', message: problem });
    return z.NEVER;
  });
}

/** Why MongoDB would refuse the database named by a connection string's path (percent-encoded), if it would. */
function databaseNameProblem(path: string): string | undefined {
  let name: string;
  try {
    name = decodeURIComponent(path);
  } catch {
    return `the database name "${path}" is not valid percent-encoding`;
  }
  const forbidden = DATABASE_NAME_FORBIDDEN.exec(name)?.[0];
  if (forbidden !== undefined) {
    const shown = forbidden === ' ' ? 'a space' : forbidden === '\0' ? 'a NUL' : `"${forbidden}"`;
    return `the database name "${name}" holds ${shown}, which MongoDB refuses in a database name (/\\. "$*<>:|?)`;
  }
  if (Buffer.byteLength(name) > DATABASE_NAME_MAX_BYTES) {
    return `the database name is ${Buffer.byteLength(name)} bytes long, over MongoDB's ${DATABASE_NAME_MAX_BYTES}`;
  }
  return undefined;
}

export function integer(min: number, max: number) {
  const expected = `expected an integer from ${min} to ${max}`;
  return z
    .string()
    .regex(/^\d+$/, { error: expected })
    .transform(Number)
    .refine((n) => n >= min && n <= max, { error: expected });
}

const DURATION_UNITS = { h: 3_600_000, d: 86_400_000 } as const;

/** A duration of whole hours or days (`36h`, `90d`), as milliseconds; at least one hour, at most 100 years. */
function duration() {
  const expected = 'expected a number of hours or days, e.g. 36h or 90d';
  return z
    .string()
    .regex(/^\d{1,6}[hd]$/, { error: expected })
    .transform((value) => Number(value.slice(0, -1)) * DURATION_UNITS[value.slice(-1) as keyof typeof DURATION_UNITS])
    .refine((ms) => ms >= DURATION_UNITS.h && ms <= 36_500 * DURATION_UNITS.d, { error: 'expected from 1h to 36500d' });
}

function host() {
  // An IPv4 or IPv6 address (without brackets) or a host name; `0.0.0.0` or `::` listens on every interface.
  return z.string().regex(/^[A-Za-z0-9.:-]{1,253}$/, { error: 'expected an IP address or a host name, e.g. 127.0.0.1 or 0.0.0.0' });
}

function oneOf<const T extends readonly [string, ...string[]]>(values: T) {
  return z.enum(values, { error: `expected one of ${values.join(', ')}` });
}

interface Variable<Output> {
  /** The value used when the variable is unset or empty; `undefined` means "optional, no value". */
  readonly default: string | undefined;
  /** One line for `.env.example` and the README. */
  readonly description: string;
  readonly schema: z.ZodType<Output, string>;
  /** A bad value is not shown in the error (it may be most of a secret). */
  readonly secret?: boolean;
}

function variable<Output>(definition: Variable<Output>): Variable<Output> {
  return definition;
}

/**
 * Every environment variable Tally reads, with its default and meaning. `.env.example` and the
 * README's configuration table are checked against this table by the unit tests.
 */
export const VARIABLES = {
  AMQP_URL: variable({
    default: 'amqp://guest:guest@127.0.0.1:5672',
    description:
      'RabbitMQ AMQP URL; the vhost is the path (none means "/"). Several, separated by commas, name the nodes of a cluster: each app fails over between them',
    schema: urlList(['amqp:', 'amqps:'], 'an amqp:// or amqps:// URL'),
  }),
  MQTT_URL: variable({
    default: 'mqtt://guest:guest@127.0.0.1:1883',
    description:
      'RabbitMQ MQTT URL used by the broadcaster; pick a vhost with the user name "vhost:user". Several, separated by commas, are tried in turn',
    schema: urlList(['mqtt:', 'mqtts:', 'ws:', 'wss:'], 'an mqtt://, mqtts://, ws:// or wss:// URL'),
  }),
  MONGODB_URI: variable({
    default: 'mongodb://127.0.0.1:27017/tally',
    description: 'MongoDB connection string; the database is the path (none means "tally")',
    schema: mongoConnectionString(),
  }),
  API_PORT: variable({
    default: '8000',
    description: 'TCP port the API listens on',
    schema: integer(1, 65535),
  }),
  API_HOST: variable({
    default: '127.0.0.1',
    description: 'Address the API listens on: 127.0.0.1 is this machine only; 0.0.0.0 (or ::) every interface, as in a container',
    schema: host(),
  }),
  API_REQUEST_TIMEOUT_MS: variable({
    default: '5000',
    description:
      'Longest an API request waits for MongoDB before answering 503 (unreachable) or 504 (too slow); also the longest a client may take to send a request (408)',
    schema: integer(100, 600_000),
  }),
  API_MAX_CONCURRENT_QUERIES: variable({
    default: '16',
    description: 'Most count and series queries the API runs at once (they hold its memory); past it a request is answered 503 (busy) with Retry-After',
    schema: integer(1, 10_000),
  }),
  API_MAX_STREAMS: variable({
    default: '1000',
    description:
      'Most live streams (GET /status-counts/stream) the API serves at once (each holds a connection and a little memory); past it a request is answered 503 (too_many_streams) with Retry-After',
    schema: integer(1, 100_000),
  }),
  API_TOKEN: variable({
    default: undefined,
    description: 'When set, every API request but /healthz and /readyz needs "Authorization: Bearer <token>"',
    secret: true,
    // A value of spaces alone would otherwise be read as unset, and turn authentication off.
    schema: z.string().regex(/^[\x21-\x7e]+$/, {
      error: 'expected a token of printable ASCII characters without spaces (unset it to turn authentication off)',
    }),
  }),
  API_METRICS_PORT: variable({
    default: undefined,
    description:
      'When set, the API serves GET /metrics (Prometheus, no token) on this TCP port, apart from the API port; 0 picks a free one',
    schema: integer(0, 65535),
  }),
  API_METRICS_HOST: variable({
    default: '127.0.0.1',
    description: 'Address the API serves /metrics on: 127.0.0.1 is this machine only; 0.0.0.0 every interface',
    schema: host(),
  }),
  TALLY_PARTITIONS: variable({
    default: '4',
    description:
      'Queues readings are spread over by device (tally.status.0 …, a consistent-hash exchange); the same on every app. Lowered, the processors drain and delete the queues left over',
    // At most messaging's MAX_PARTITIONS, as far as a processor looks for partitions left over.
    schema: integer(1, 256),
  }),
  PROCESSOR_PREFETCH: variable({
    default: '1000',
    description: 'Most unacknowledged messages the processor holds at once from each partition (bounds its memory)',
    schema: integer(1, 65_535),
  }),
  PROCESSOR_HEALTH_PORT: variable({
    default: undefined,
    description:
      'When set, the processor serves /healthz, /readyz (200 while consuming and MongoDB takes its writes, else 503) and /metrics (Prometheus) on this TCP port; 0 picks a free one',
    schema: integer(0, 65535),
  }),
  PROCESSOR_HEALTH_HOST: variable({
    default: '127.0.0.1',
    description: 'Address the processor serves /healthz, /readyz and /metrics on: 127.0.0.1 is this machine only; 0.0.0.0 every interface',
    schema: host(),
  }),
  BATCH_SIZE: variable({
    default: '500',
    description: 'The processor writes a batch as soon as this many readings wait; at most PROCESSOR_PREFETCH',
    schema: integer(1, 100_000),
  }),
  BATCH_MAX_WAIT_MS: variable({
    default: '50',
    description: 'The processor writes a batch at most this long after its first reading arrived',
    schema: integer(0, 60_000),
  }),
  ROLLUP_REFRESH_INTERVAL_MS: variable({
    default: '1000',
    description:
      'How often the processor recomputes the rollup buckets that changed (until then counts read those buckets from the raw readings)',
    schema: integer(100, 3_600_000),
  }),
  RAW_RETENTION: variable({
    default: undefined,
    description:
      'When set (e.g. 90d, 36h), the processor deletes raw readings older than this, an hour at a time, and keeps their counts in the rollups; unset keeps every reading',
    schema: duration(),
  }),
  BROADCAST_INTERVAL_MS: variable({
    default: '1000',
    description: 'Milliseconds between two readings of the broadcaster',
    schema: integer(1, 86_400_000),
  }),
  BROADCAST_BUFFER_LIMIT: variable({
    default: '3600',
    description:
      'Readings the broadcaster keeps while the broker is unreachable (3600 = 1 hour at 1 s); beyond it the oldest are dropped',
    schema: integer(1, 10_000_000),
  }),
  BROADCAST_STOP_TIMEOUT_MS: variable({
    default: '3000',
    description:
      'Milliseconds the broadcaster spends, on SIGTERM or SIGINT, publishing the readings it holds before it exits; what is left is counted as unsent',
    schema: integer(0, 600_000),
  }),
  BROADCAST_METRICS_PORT: variable({
    default: undefined,
    description: 'When set, the broadcaster serves GET /metrics (Prometheus) on this TCP port; 0 picks a free one',
    schema: integer(0, 65535),
  }),
  BROADCAST_METRICS_HOST: variable({
    default: '127.0.0.1',
    description: 'Address the broadcaster serves /metrics on: 127.0.0.1 is this machine only; 0.0.0.0 every interface',
    schema: host(),
  }),
  BROADCAST_TRANSPORT: variable({
    default: 'mqtt',
    description: 'How the broadcaster publishes: mqtt (via MQTT_URL) or amqp (via AMQP_URL)',
    schema: oneOf(BROADCAST_TRANSPORTS),
  }),
  LOG_LEVEL: variable({
    default: 'info',
    description: `Log level: ${LOG_LEVELS.join(', ')}`,
    schema: oneOf(LOG_LEVELS),
  }),
};

export type VariableName = keyof typeof VARIABLES;
export type VariableValue<Name extends VariableName> = z.output<(typeof VARIABLES)[Name]['schema']>;
