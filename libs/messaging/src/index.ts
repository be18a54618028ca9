export { AckWindow } from './ack-window';
export { BatchConsumer, createBatchConsumer } from './batch-consumer';
export { amqpClientTarget, brokerUrlList, mqttServers, UrlRotation } from './brokers';
export type { BrokerUrls, MqttServer } from './brokers';
export type { BatchConsumerEvents, BatchConsumerOptions, Delivery } from './batch-consumer';
export { closePublisher, createAmqpConnection } from './connection';
export type { AmqpConnectionOptions } from './connection';
export { createDeadLetterPublisher } from './dead-letter';
export { isAccessRefused, MessagingError } from './errors';
export type { MessagingErrorCode } from './errors';
export type { DeadLetterPublisher } from './dead-letter';
export { Outbox } from './outbox';
export type { OutboxOptions } from './outbox';
export { BrokerState, createReadingPublisher, watchAmqp } from './publisher';
export type { AmqpPublisherOptions, MqttPublisherOptions, PublisherEvents, ReadingPublisher, Transport } from './publisher';
export { decode, encode, MAX_MESSAGE_BYTES, randomReading, readingId, readingSchema, STATUSES } from './reading';
export type { DecodeFailureReason, DecodeResult, Reading, Status } from './reading';
export { settlesWithin } from './settles-within';
export { startTicker } from './ticker';
export type { Ticker, TickerOptions } from './ticker';
export {
  DEAD_LETTER_EXCHANGE,
  DEAD_LETTER_QUEUE,
  DEAD_LETTER_REASON_HEADER,
  ensureTopology,
  READING_MQTT_TOPIC,
  READING_ROUTING_KEY,
  READINGS_EXCHANGE,
  STATUS_QUEUE,
  TOPOLOGY,
} from './topology';
