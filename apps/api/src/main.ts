import { loadApiConfig } from '@tally/config';
import { createLogger, exitOnStartupError, onShutdown } from '@tally/runtime';
import { startMetricsServer } from '@tally/metrics';
import { createMongoConnection } from '@tally/store';
import { createApp } from './app';
import { loadAssets } from './assets';
import { createApiMetrics } from './metrics';
import { startServer } from './server';
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
  const store = countsStoreOver(mongo);
  const assets = loadAssets();
  const app = createApp({
    store: metrics?.instrument(store) ?? store,
    metrics,
    token: config.token,
    requestTimeoutMs: config.requestTimeoutMs,
    maxConcurrentQueries: config.maxConcurrentQueries,
    log: (entry) => logger.info(entry, 'request'),
    onError: (error) => logger.error({ err: error }, 'unexpected error'),
    dashboard: assets.then(({ dashboard }) => dashboard),
    docs: assets.then(({ docs }) => docs),
  });
  const server = startServer({
    fetch: app.fetch,
    port: config.port,
    host: config.host,
    requestTimeoutMs: config.requestTimeoutMs,
    onBadRequest: (info) => logger.warn(info, 'bad request'),
    onError: (error) => logger.error({ err: error }, 'unexpected error'),
    onStartupError: (error) => exitOnStartupError(error, logger),
  });
  server.once('listening', () => logger.info({ host: config.host, port: config.port, auth: config.token !== undefined }, 'listening'));
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
      // Finish the requests in flight, refuse new ones, then drop idle keep-alive connections.
      const closed = new Promise<void>((resolve, reject) => server.close((error) => (error ? reject(error) : resolve())));
      if ('closeIdleConnections' in server) server.closeIdleConnections();
      await closed;
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
