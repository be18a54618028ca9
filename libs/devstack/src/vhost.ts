import { randomUUID } from 'node:crypto';
import type { DevstackUrls } from './services';

export interface TestVhost {
  name: string;
  /** AMQP URL of the vhost. */
  amqpUrl: string;
  /** MQTT URL whose user name (`vhost:user`) selects the vhost. */
  mqttUrl: string;
  /**
   * Force-closes every client connection to the vhost, as `rabbitmqctl close_all_connections`
   * would; returns how many it closed.
   */
  closeConnections(reason?: string): Promise<number>;
  /** Deletes the vhost and everything in it. */
  dispose(): Promise<void>;
}

/**
 * A fresh RabbitMQ vhost (guest has full rights), so that a test owns its queues: nothing else
 * publishes into them or consumes from them. Needs the management API.
 */
export async function createTestVhost(urls: DevstackUrls, prefix = 'test'): Promise<TestVhost> {
  if (!urls.managementUrl) throw new Error('createTestVhost needs RabbitMQ management API (managementUrl)');
  const name = `${prefix}-${randomUUID().slice(0, 8)}`;
  const management = new URL(urls.managementUrl);
  const api = async (method: string, path: string, body?: unknown, headers: Record<string, string> = {}) => {
    const response = await fetch(`${management.origin}/api${path}`, {
      method,
      headers: {
        authorization: `Basic ${btoa(`${decodeURIComponent(management.username)}:${decodeURIComponent(management.password)}`)}`,
        'content-type': 'application/json',
        ...headers,
      },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    if (!response.ok && response.status !== 404) {
      throw new Error(`RabbitMQ management ${method} ${path}: ${response.status} ${await response.text()}`);
    }
    return response.status === 200 ? ((await response.json()) as unknown) : undefined;
  };
  const user = decodeURIComponent(new URL(urls.amqpUrl).username) || 'guest';
  await api('PUT', `/vhosts/${encodeURIComponent(name)}`);
  await api('PUT', `/permissions/${encodeURIComponent(name)}/${encodeURIComponent(user)}`, {
    configure: '.*',
    write: '.*',
    read: '.*',
  });
  const amqpUrl = new URL(urls.amqpUrl);
  amqpUrl.pathname = `/${encodeURIComponent(name)}`;
  const mqttUrl = new URL(urls.mqttUrl);
  mqttUrl.username = encodeURIComponent(`${name}:${decodeURIComponent(mqttUrl.username) || user}`);
  return {
    name,
    amqpUrl: amqpUrl.toString(),
    mqttUrl: mqttUrl.toString(),
    closeConnections: async (reason = 'closed by test') => {
      const connections = ((await api('GET', `/vhosts/${encodeURIComponent(name)}/connections`)) ?? []) as { name: string }[];
      for (const connection of connections) {
        await api('DELETE', `/connections/${encodeURIComponent(connection.name)}`, undefined, { 'x-reason': reason });
      }
      return connections.length;
    },
    dispose: async () => void (await api('DELETE', `/vhosts/${encodeURIComponent(name)}`)),
  };
}
