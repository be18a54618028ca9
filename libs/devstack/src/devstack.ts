import { createHash } from 'node:crypto';
import { join } from 'node:path';
import { dockerEngineAnswers, startComposeServices } from './docker';
import { DevstackError } from './errors';
import { findMongoServer, MONGO_SERVER_MISSING, pingMongo, startLocalMongo, type MongoServerBinary } from './mongodb';
import { canConnect } from './net';
import { findRabbitMqServer, startLocalRabbitMq } from './rabbitmq';
import type { DevstackUrls, Service, ServiceName } from './services';

export interface StartDevstackOptions {
  /** Workspace root: `docker/compose.yaml` is read from there. */
  root: string;
  /** Private directory for data, logs and state. */
  dir: string;
  /** URLs of services already running (e.g. from the environment); used when they answer. */
  given?: Partial<Pick<DevstackUrls, 'amqpUrl' | 'mqttUrl' | 'mongodbUri'>>;
  /**
   * Try a Docker engine before local binaries.
   * @default true
   */
  docker?: boolean;
  /** Progress lines, e.g. `console.error`. */
  log?: (line: string) => void;
}

export interface Devstack {
  urls: DevstackUrls;
  services: readonly Service[];
  /** Stops exactly the services this devstack started (they do not depend on each other). */
  stop(): Promise<void>;
}

/**
 * Provides RabbitMQ (AMQP, MQTT, management) and a MongoDB-wire server, each from the first of:
 * given URLs that answer, a Docker engine, local binaries (`rabbitmq-server`; `mongod`, else
 * FerretDB v2 on PostgreSQL with DocumentDB). Fails with a message naming what to install when
 * none of these is there.
 */
export async function startDevstack(options: StartDevstackOptions): Promise<Devstack> {
  const log = options.log ?? (() => undefined);
  const services: Service[] = [];
  const stop = async () => {
    await Promise.all(services.map((service) => service.stop()));
  };
  try {
    const found = await findGivenServices(options.given ?? {}, log);
    services.push(...found);
    const needed = (['rabbitmq', 'mongodb'] as const).filter((name) => !found.some((s) => s.name === name));
    if (needed.length > 0 && options.docker !== false && dockerEngineAnswers()) {
      log(`starting ${needed.join(' and ')} with docker compose`);
      services.push(...startComposeServices(options.root, needed));
    } else if (needed.length > 0) {
      services.push(...(await startLocalServices(options, needed, log)));
    }
  } catch (error) {
    await stop();
    throw error;
  }
  return { urls: mergeUrls(services), services, stop };
}

async function findGivenServices(given: NonNullable<StartDevstackOptions['given']>, log: (line: string) => void) {
  const found: Service[] = [];
  const external = (name: ServiceName, urls: Partial<DevstackUrls>): Service => ({
    name,
    source: 'environment',
    processes: [],
    urls,
    stop: async () => undefined,
  });
  if (given.amqpUrl && given.mqttUrl) {
    const answering = await Promise.all([urlAnswers(given.amqpUrl, 5672), urlAnswers(given.mqttUrl, 1883)]);
    if (answering.every(Boolean)) {
      found.push(external('rabbitmq', { amqpUrl: given.amqpUrl, mqttUrl: given.mqttUrl, managementUrl: undefined }));
    } else log('AMQP_URL/MQTT_URL given but not answering: starting a broker instead');
  }
  if (given.mongodbUri) {
    if (await pingMongo(given.mongodbUri)) found.push(external('mongodb', { mongodbUri: given.mongodbUri }));
    else log('MONGODB_URI given but not answering: starting a server instead');
  }
  return found;
}

function urlAnswers(url: string, defaultPort: number): Promise<boolean> {
  const { hostname, port } = new URL(url);
  return canConnect(hostname.replace(/^\[|\]$/g, ''), Number(port || defaultPort), 2000);
}

async function startLocalServices(
  options: StartDevstackOptions,
  needed: readonly ServiceName[],
  log: (line: string) => void,
): Promise<Service[]> {
  const rabbitMqServer = needed.includes('rabbitmq') ? findRabbitMqServer() : undefined;
  const mongoServer = needed.includes('mongodb') ? findMongoServer() : undefined;
  const missing: string[] = [];
  if (needed.includes('rabbitmq') && !rabbitMqServer) {
    missing.push('RabbitMQ (Debian/Ubuntu: `npm run setup` installs it, with what else is missing)');
  }
  if (needed.includes('mongodb') && !mongoServer) {
    missing.push(MONGO_SERVER_MISSING);
  }
  if (missing.length > 0) {
    throw new DevstackError(
      'not_installed',
      `No Docker engine answers and these are not installed:\n  ${missing.join('\n  ')}\n` +
        'Alternatively set AMQP_URL and MQTT_URL, or MONGODB_URI, to servers that are running.',
    );
  }
  const starts: Promise<Service>[] = [];
  if (rabbitMqServer) {
    log(`starting RabbitMQ from ${rabbitMqServer}`);
    const nodeName = `tally-${createHash('sha256').update(options.root).digest('hex').slice(0, 8)}@localhost`;
    starts.push(startLocalRabbitMq({ server: rabbitMqServer, dir: join(options.dir, 'rabbitmq'), nodeName }));
  }
  if (mongoServer) {
    log(`starting ${describeMongoServer(mongoServer)}`);
    starts.push(startLocalMongo({ binary: mongoServer, dir: join(options.dir, mongoServer.kind) }));
  }
  const results = await Promise.allSettled(starts);
  const started = results.flatMap((result) => (result.status === 'fulfilled' ? [result.value] : []));
  const failure = results.find((result) => result.status === 'rejected');
  if (failure) {
    for (const service of started) await service.stop();
    throw failure.reason;
  }
  return started;
}

function describeMongoServer(server: MongoServerBinary): string {
  return server.kind === 'mongod'
    ? `mongod from ${server.path}`
    : `FerretDB from ${server.ferretdb} on PostgreSQL (${server.postgresBin}) with DocumentDB`;
}

function mergeUrls(services: readonly Service[]): DevstackUrls {
  const urls = Object.assign({}, ...services.map((service) => service.urls)) as Partial<DevstackUrls>;
  if (!urls.amqpUrl || !urls.mqttUrl || !urls.mongodbUri) {
    throw new DevstackError('start_failed', 'A service started without its URL');
  }
  return { amqpUrl: urls.amqpUrl, mqttUrl: urls.mqttUrl, managementUrl: urls.managementUrl, mongodbUri: urls.mongodbUri };
}
