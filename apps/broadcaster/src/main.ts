import { createLogger, exitOnStartupError, loadBroadcasterConfig, onShutdown } from '@tally/config';
import { createAmqpConnection } from '@tally/messaging';

// Placeholder until the broadcaster issue: connects to RabbitMQ and says so.
function main(): void {
  const config = loadBroadcasterConfig();
  const logger = createLogger({ name: 'broadcaster', level: config.logLevel });
  const amqp = createAmqpConnection({ url: config.amqpUrl, connectionName: 'tally-broadcaster' });
  amqp.on('error', (err) => logger.warn({ err }, 'RabbitMQ connection error'));
  amqp.on('connection', () => logger.info('connected to RabbitMQ: ready'));
  onShutdown(() => amqp.close(), { logger, graceMs: 5000 });
}

try {
  main();
} catch (error) {
  exitOnStartupError(error);
}
