import type { ManagedProcess } from './child';

/** Where the services of a devstack answer. */
export interface DevstackUrls {
  /** AMQP 0-9-1, guest user, vhost "/". */
  amqpUrl: string;
  /** MQTT 3.1.1 on the same broker. */
  mqttUrl: string;
  /** RabbitMQ's management HTTP API (user guest), when known. */
  managementUrl: string | undefined;
  /** MongoDB wire protocol, database `tally`. */
  mongodbUri: string;
}

export type ServiceName = 'rabbitmq' | 'mongodb';

/** How a service was provided: found running, started by Docker, or started from a local binary. */
export type ServiceSource = 'environment' | 'docker' | 'rabbitmq-server' | 'mongod' | 'ferretdb';

export interface Service {
  name: ServiceName;
  source: ServiceSource;
  urls: Partial<DevstackUrls>;
  /** The local processes this devstack started for the service (none for a service it found). */
  processes: readonly ManagedProcess[];
  /** Stops what this devstack started; a no-op for a service it found running. */
  stop(): Promise<void>;
}
