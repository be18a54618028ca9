import type { Channel, ChannelModel } from 'amqplib';
import {
  MAX_PARTITIONS,
  PARTITION_EXCHANGE,
  PARTITION_EXCHANGE_BINDING,
  partitionBinding,
  partitionQueues,
  READINGS_EXCHANGE,
  UNPARTITIONED_QUEUE,
} from './topology';

/**
 * The queues that readings no longer reach but that may still hold some: the unpartitioned
 * `tally.status` of earlier versions, and the partitions from `partitions` up that a larger count
 * declared. Each is unbound here, so that nothing more arrives, for a processor to drain and delete
 * (`deleteIfDrained`).
 */
export async function retiredQueues(connection: ChannelModel, partitions: number): Promise<string[]> {
  const found = (await retiredQueueState(connection, UNPARTITIONED_QUEUE)) === undefined ? [] : [UNPARTITIONED_QUEUE];
  // Up to the first one missing: processors delete them from the highest down (see BatchConsumer).
  for (const queue of partitionQueues(MAX_PARTITIONS).slice(partitions)) {
    if ((await retiredQueueState(connection, queue)) === undefined) break;
    found.push(queue);
  }
  for (const queue of found) await unbind(connection, queue);
  return found;
}

/**
 * What a retired queue holds, or `undefined` once it is gone (deleted by another processor):
 * `messages` waiting, and `consumers` — a quorum queue counts a cancelled consumer until its last
 * delivery is settled, so none waiting and no consumer means no message of it is anywhere but
 * stored or dead-lettered.
 */
export async function retiredQueueState(connection: ChannelModel, queue: string): Promise<{ messages: number; consumers: number } | undefined> {
  const channel = await quietChannel(connection);
  try {
    const { messageCount, consumerCount } = await channel.checkQueue(queue);
    return { messages: messageCount, consumers: consumerCount };
  } catch {
    return undefined;
  } finally {
    await channel.close().catch(() => undefined);
  }
}

/**
 * Deletes a retired queue (when `mayDelete`) if nothing waits in it and no consumer holds any of its messages
 * (`retiredQueueState`), after unbinding it again (an app of the larger count may have bound it
 * anew on reconnecting). Resolves with what it found: `deleted`, `gone`, or what the queue holds.
 * (Quorum queues refuse `if-empty`: it is checked just before; nothing can arrive in between.)
 */
export async function deleteIfDrained(
  connection: ChannelModel,
  queue: string,
  { mayDelete }: { mayDelete: boolean },
): Promise<'deleted' | 'gone' | { messages: number; consumers: number }> {
  const before = await retiredQueueState(connection, queue);
  if (before === undefined) return 'gone';
  await unbind(connection, queue);
  const state = await retiredQueueState(connection, queue);
  if (state === undefined) return 'gone';
  if (state.messages > 0 || state.consumers > 0 || !mayDelete) return state;
  const channel = await quietChannel(connection);
  try {
    await channel.deleteQueue(queue);
    return 'deleted';
  } finally {
    await channel.close().catch(() => undefined);
  }
}

/** Removes the binding that brought readings to a retired queue (none there is no error). */
async function unbind(connection: ChannelModel, queue: string): Promise<void> {
  const channel = await quietChannel(connection);
  try {
    if (queue === UNPARTITIONED_QUEUE) await channel.unbindQueue(queue, READINGS_EXCHANGE, PARTITION_EXCHANGE_BINDING.routingKey);
    else await channel.unbindQueue(queue, PARTITION_EXCHANGE, partitionBinding(queue).routingKey);
  } finally {
    await channel.close().catch(() => undefined);
  }
}

/** A channel whose refusals (which close it) reject the call that caused them and nothing else. */
async function quietChannel(connection: ChannelModel): Promise<Channel> {
  const channel = await connection.createChannel();
  channel.on('error', () => undefined);
  return channel;
}
