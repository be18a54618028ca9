import { createLogger, exitOnStartupError, loadProcessorConfig, onShutdown } from '@tally/config';
import { createAmqpConnection } from '@tally/messaging';
import { createMongoConnection } from '@tally/store';

// Placeholder until the processor issue: connects to RabbitMQ and MongoDB and says so.
async function main(): Promise<void> {
  const config = loadProcessorConfig();
  const logger = createLogger({ name: 'processor', level: config.logLevel });
  const mongo = createMongoConnection({ uri: config.mongodbUri });
  const amqp = createAmqpConnection({ url: config.amqpUrl, connectionName: 'tally-processor' });
  amqp.on('error', (err) => logger.warn({ err }, 'RabbitMQ connection error'));
  amqp.on('connection', () => logger.info('connected to RabbitMQ'));
  onShutdown(
    async () => {
      await amqp.close();
      await mongo.close();
    },
    { logger },
  );
  if (await mongo.ping()) logger.info('connected to MongoDB: ready');
  else logger.warn('MongoDB does not answer');
}

main().catch((error: unknown) => exitOnStartupError(error));
