/**
 * `access_refused`: the broker refused the credentials or the vhost (AMQP 403 ACCESS_REFUSED, 530
 * NOT_ALLOWED), which retrying will not change; `plugin_missing`: the broker lacks a plugin Tally
 * needs (its message names it and how to enable it); `subscribe_failed`: anything else (broker
 * down, connection lost), which retrying may.
 */
export type MessagingErrorCode = 'access_refused' | 'plugin_missing' | 'subscribe_failed';

export class MessagingError extends Error {
  override readonly name = 'MessagingError';

  constructor(
    readonly code: MessagingErrorCode,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/** True for the broker's refusal of a login or a vhost, from amqplib, rabbitmq-client or MQTT.js (CONNACK 4 or 5). */
export function isAccessRefused(error: unknown): boolean {
  if (!(error instanceof Error)) return false;
  const code = (error as { code?: unknown }).code;
  return (
    code === 'ACCESS_REFUSED' ||
    code === 'NOT_ALLOWED' ||
    /\b(ACCESS[-_]REFUSED|NOT[-_]ALLOWED)\b/.test(error.message) ||
    /^Connection refused: (Not authorized|Bad username or password)/.test(error.message)
  );
}
