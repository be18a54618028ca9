export { BatchConsumer, createBatchConsumer } from './batch-consumer';
export type { BatchConsumerEvents, BatchConsumerOptions } from './batch-consumer';
export type { Delivery } from './delivery';
export { createAmqpConnection } from './connection';
export type { AmqpConnectionOptions } from './connection';
export { createChangeAnnouncer } from './announcer';
export type { ChangeAnnouncer, ChangeAnnouncerOptions } from './announcer';
export { ChangeFeed } from './change-feed';
export type { ChangeFeedEvents } from './change-feed';
export { changesOf, decodeChanges, encodeChanges, MAX_DEVICES_PER_MINUTE } from './changes';
export type { ChangedMinute, Changes } from './changes';
export { createDeadLetterPublisher } from './dead-letter';
export { isAccessRefused, MessagingError } from './errors';
export type { MessagingErrorCode } from './errors';
export type { DeadLetterPublisher } from './dead-letter';
export { BrokerState, createReadingPublisher, watchAmqp } from './publisher';
export type { AmqpPublisherOptions, MqttPublisherOptions, PublisherEvents, ReadingPublisher, Transport } from './publisher';
export { decode, encode, randomReading } from './reading';
export type { DecodeFailureReason, DecodeResult, RandomReading } from './reading';
export { brokerRefusal, PARTITION_PLUGIN } from './broker-refusal';
export {
  BROKER_DEAD_LETTER_ROUTING_KEY,
  CHANGES_EXCHANGE,
  DEAD_LETTER_EXCHANGE,
  DEAD_LETTER_QUEUE,
  DEAD_LETTER_REASON_HEADER,
  DELIVERY_LIMIT,
  MAX_PARTITIONS,
  PARTITION_EXCHANGE,
  PARTITION_QUEUE_ARGUMENTS,
  partitionQueue,
  partitionQueues,
  READING_MQTT_TOPIC,
  READING_ROUTING_KEY,
  READINGS_EXCHANGE,
  readingsTopology,
  UNPARTITIONED_QUEUE,
} from './topology';
export type { Topology } from './topology';
