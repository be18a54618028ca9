import { randomUUID } from 'node:crypto';
import { managementFetch } from './management';
import type { DevstackUrls } from './services';

export interface TestVhost {
  name: string;
  /** AMQP URL of the vhost. */
  amqpUrl: string;
  /** MQTT URL whose user name (`vhost:user`) selects the vhost. */
  mqttUrl: string;
  /**
   * Management names of the vhost's client connections (only those whose client named itself
   * `connectionName`, when given). The management API lists a new connection after a few seconds.
   */
  listConnections(connectionName?: string): Promise<string[]>;
  /**
   * Force-closes the named connections (by default every connection listed now), as `rabbitmqctl
   * close_all_connections` would; returns how many were still open.
   */
  closeConnections(names?: readonly string[], reason?: string): Promise<number>;
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
  const { managementUrl } = urls;
  const api = async (method: string, path: string, body?: unknown, headers: Record<string, string> = {}) => {
    const response = await managementFetch(managementUrl, path, { method, body, headers });
    if (!response.ok && response.status !== 404) {
      throw new Error(`RabbitMQ management ${method} ${path}: ${response.status} ${await response.text()}`);
    }
    return { found: response.ok, body: response.status === 200 ? ((await response.json()) as unknown) : undefined };
  };
  const user = decodeURIComponent(new URL(urls.amqpUrl).username) || 'guest';
  await api('PUT', `/vhosts/${encodeURIComponent(name)}`);
  await api('PUT', `/permissions/${encodeURIComponent(name)}/${encodeURIComponent(user)}`, {
    configure: '.*',
    write: '.*',
    read: '.*',
  });
  const listConnections = async (connectionName?: string) => {
    const { body } = await api('GET', `/vhosts/${encodeURIComponent(name)}/connections`);
    const connections = (body ?? []) as { name: string; client_properties?: { connection_name?: string } }[];
    return connections
      .filter((c) => connectionName === undefined || c.client_properties?.connection_name === connectionName)
      .map((c) => c.name);
  };
  const amqpUrl = new URL(urls.amqpUrl);
  amqpUrl.pathname = `/${encodeURIComponent(name)}`;
  const mqttUrl = new URL(urls.mqttUrl);
  mqttUrl.username = encodeURIComponent(`${name}:${decodeURIComponent(mqttUrl.username) || user}`);
  return {
    name,
    amqpUrl: amqpUrl.toString(),
    mqttUrl: mqttUrl.toString(),
    listConnections,
    closeConnections: async (names, reason = 'closed by test') => {
      let closed = 0;
      for (const connection of names ?? (await listConnections())) {
        const { found } = await api('DELETE', `/connections/${encodeURIComponent(connection)}`, undefined, {
          'x-reason': reason,
        });
        if (found) closed++;
      }
      return closed;
    },
    dispose: async () => void (await api('DELETE', `/vhosts/${encodeURIComponent(name)}`)),
  };
}
