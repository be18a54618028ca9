import { loadApiConfig } from '@tally/config';
import { ChangeFeed, createAmqpConnection } from '@tally/messaging';
import { createLogger, describeError, exitOnStartupError, onShutdown, startHttpServer } from '@tally/runtime';
import { startMetricsServer } from '@tally/metrics';
import { createMongoConnection } from '@tally/store';
import { createApp } from './app';
import { loadAssets } from './assets';
import { LiveHub } from './live/hub';
import { storeReads } from './live/routes';
import { createApiMetrics } from './metrics';
import { servedMethods } from './routes/methods';
import { countsStoreOver } from './store';

function main(): void {
  const config = loadApiConfig();
  const logger = createLogger({ name: 'api', level: config.logLevel });
  // Fail fast when MongoDB is unreachable, well within the request bound.
  const mongo = createMongoConnection({
    uri: config.mongodbUri,
    serverSelectionTimeoutMS: Math.min(2000, Math.floor(config.requestTimeoutMs / 2)),
  });
  // Metrics on a port of their own, never on the (published, token-protected) API port.
  const metrics = config.metricsPort === undefined ? undefined : createApiMetrics();
  const store = metrics?.instrument(countsStoreOver(mongo)) ?? countsStoreOver(mongo);
  // What the processor stored, announced on the broker: the live streams read only what changed.
  const amqp = createAmqpConnection({ url: config.amqpUrls, connectionName: 'tally-api-changes' });
  const changes = new ChangeFeed(amqp);
  changes.on('up', () => logger.info('live: hearing announcements of stored readings'));
  changes.on('down', (error) => logger.warn({ err: describeError(error) }, 'live: announcements not heard: streams poll the store meanwhile'));
  const hub: LiveHub = new LiveHub({
    read: storeReads({ store, requestTimeoutMs: config.requestTimeoutMs }),
    changes,
    metrics: metrics?.live(() => hub.size),
  });
  const assets = loadAssets();
  const app = createApp({
    store,
    live: { hub, maxStreams: config.maxStreams },
    metrics,
    token: config.token,
    requestTimeoutMs: config.requestTimeoutMs,
    maxConcurrentQueries: config.maxConcurrentQueries,
    log: (entry) => logger.info(entry, 'request'),
    onError: (error) => logger.error({ err: error }, 'unexpected error'),
    dashboard: assets.then(({ dashboard }) => dashboard),
    docs: assets.then(({ docs }) => docs),
  });
  const server = startHttpServer({
    fetch: app.fetch,
    port: config.port,
    host: config.host,
    requestTimeoutMs: config.requestTimeoutMs,
    examplePath: '/status-counts',
    allow: servedMethods(app),
    onBadRequest: (info) => logger.warn(info, 'bad request'),
    onError: (error) => logger.error({ err: error }, 'unexpected error'),
  });
  server.then(
    ({ port }) => logger.info({ host: config.host, port, auth: config.token !== undefined }, 'listening'),
    (error: unknown) => exitOnStartupError(error, logger),
  );
  const metricsServer =
    metrics && config.metricsPort !== undefined
      ? startMetricsServer({ registry: metrics.registry, port: config.metricsPort, host: config.metricsHost })
      : undefined;
  metricsServer?.then(
    ({ port }) => logger.info({ host: config.metricsHost, port }, 'serving /metrics'),
    (error: unknown) => exitOnStartupError(error, logger),
  );
  onShutdown(
    async () => {
      // End every live stream, finish the requests in flight, refuse new ones, drop idle keep-alive connections.
      hub.close();
      await (await server).close();
      await changes.close();
      await amqp.close();
      await (await metricsServer)?.close();
      await mongo.close();
    },
    { logger, graceMs: 10_000 },
  );
}

try {
  main();
} catch (error) {
  exitOnStartupError(error);
}
