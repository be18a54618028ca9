/**
 * Several broker URLs (the nodes of one RabbitMQ cluster) in the shapes each client takes. The
 * URLs differ only by host and port (`libs/config` checks it): the credentials, vhost and scheme
 * of the first are used for every node.
 */

/** One URL, or the nodes of a cluster in the order to try them. */
export type BrokerUrls = string | readonly string[];

export function brokerUrlList(urls: BrokerUrls): readonly string[] {
  const list = typeof urls === 'string' ? [urls] : urls;
  if (list.length === 0) throw new TypeError('Expected at least one broker URL');
  return list;
}

/**
 * rabbitmq-client's options for `urls`: the first URL for credentials and vhost, and `hosts`,
 * which it tries round-robin on every (re)connect.
 */
export function amqpClientTarget(urls: BrokerUrls): { url: string; hosts?: string[] } {
  const list = brokerUrlList(urls);
  const url = list[0] as string;
  if (list.length === 1) return { url };
  return { url, hosts: list.map((each) => new URL(each).host) };
}

/**
 * Hands out the URLs in turn, for a client that reconnects by itself (the processor's amqplib
 * consumer): each connection attempt takes the next node, so one that is down costs one attempt.
 */
export class UrlRotation {
  readonly #urls: readonly string[];
  #next = 0;

  constructor(urls: BrokerUrls) {
    this.#urls = brokerUrlList(urls);
  }

  /** The URL for the next connection attempt. */
  next(): string {
    const url = this.#urls[this.#next] as string;
    this.#next = (this.#next + 1) % this.#urls.length;
    return url;
  }
}

export interface MqttServer {
  host: string;
  port: number;
  protocol: 'mqtt' | 'mqtts' | 'ws' | 'wss';
}

const MQTT_DEFAULT_PORTS: Record<MqttServer['protocol'], number> = { mqtt: 1883, mqtts: 8883, ws: 80, wss: 443 };

/** MQTT.js's `servers` for `urls` (it tries the next on each reconnect); `undefined` for one URL. */
export function mqttServers(urls: BrokerUrls): MqttServer[] | undefined {
  const list = brokerUrlList(urls);
  if (list.length === 1) return undefined;
  return list.map((each) => {
    const url = new URL(each);
    const protocol = url.protocol.slice(0, -1) as MqttServer['protocol'];
    return { host: url.hostname, port: url.port === '' ? MQTT_DEFAULT_PORTS[protocol] : Number(url.port), protocol };
  });
}
