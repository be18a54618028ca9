import { serve } from '@hono/node-server';
import { createLogger, exitOnStartupError, loadApiConfig, onShutdown } from '@tally/config';
import { createMongoConnection } from '@tally/store';
import { Hono } from 'hono';

// Placeholder until the API issue: serves /healthz and /readyz over its MongoDB connection.
function main(): void {
  const config = loadApiConfig();
  const logger = createLogger({ name: 'api', level: config.logLevel });
  const mongo = createMongoConnection({ uri: config.mongodbUri });
  const app = new Hono()
    .get('/healthz', (c) => c.json({ status: 'ok' }))
    .get('/readyz', async (c) => ((await mongo.ping()) ? c.json({ status: 'ready' }) : c.json({ status: 'unavailable' }, 503)));
  const server = serve({ fetch: app.fetch, port: config.port }, ({ port }) => logger.info({ port }, 'listening: ready'));
  onShutdown(
    async () => {
      await new Promise<void>((resolve, reject) => server.close((error) => (error ? reject(error) : resolve())));
      await mongo.close();
    },
    { logger },
  );
}

try {
  main();
} catch (error) {
  exitOnStartupError(error);
}
