export { createAmqpConnection } from './connection';
export type { AmqpConnectionOptions } from './connection';
