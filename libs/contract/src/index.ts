export { STATUSES } from './statuses';
export type { Status } from './statuses';
export { MAX_MESSAGE_BYTES, readingSchema } from './reading';
export type { Reading } from './reading';
export {
  DEVICE_ID_PATTERN,
  deviceFromMqttTopic,
  deviceFromRoutingKey,
  deviceIdProblem,
  deviceIdSchema,
  fleetDeviceIds,
  isDeviceId,
  MAX_DEVICE_ID_LENGTH,
  mqttTopicFor,
  resolveDevice,
  routingKeyFor,
  STATUS_TOPIC,
} from './device';
export type { DeviceFromTopicResult, ResolveDeviceResult } from './device';
export { readingId, statusEventFor, toStatusEvent } from './status-event';
export type { StatusEvent, ToStatusEventOptions, ToStatusEventResult } from './status-event';
