import { isAccessRefused, MessagingError } from './errors';

/** The exchange type that spreads readings over the partitions, and the plugin that provides it. */
export const HASH_EXCHANGE_TYPE = 'x-consistent-hash';
export const PARTITION_PLUGIN = 'rabbitmq_consistent_hash_exchange';

/**
 * RabbitMQ's refusal of `x-consistent-hash` (`COMMAND_INVALID - unknown exchange type`, which
 * closes the connection) as the error that tells an operator what to do; `undefined` for any other.
 */
export function pluginMissing(error: unknown): MessagingError | undefined {
  if (!(error instanceof Error) || !/unknown exchange type|invalid exchange type/i.test(error.message) || !error.message.includes(HASH_EXCHANGE_TYPE)) {
    return undefined;
  }
  return new MessagingError(
    'plugin_missing',
    `RabbitMQ lacks the ${PARTITION_PLUGIN} plugin, which Tally's partitions need: enable it on every node with "rabbitmq-plugins enable ${PARTITION_PLUGIN}"`,
    { cause: error },
  );
}

/**
 * A refusal that retrying will not change, as the error an app stops with at start-up: the
 * credentials or vhost refused (`access_refused`), or the plugin missing (`plugin_missing`).
 */
export function brokerRefusal(error: unknown): MessagingError | undefined {
  if (error instanceof MessagingError && error.code !== 'subscribe_failed') return error;
  if (isAccessRefused(error)) {
    return new MessagingError('access_refused', `the broker refused the credentials or the vhost: ${(error as Error).message}`, { cause: error });
  }
  return pluginMissing(error);
}
