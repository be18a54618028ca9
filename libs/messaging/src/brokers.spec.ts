import { describe, expect, it } from 'vitest';
import { amqpClientTarget, mqttServers, UrlRotation } from './brokers';

describe('amqpClientTarget', () => {
  it('passes one URL as it is', () => {
    expect(amqpClientTarget('amqp://u:p@a:5672/v')).toEqual({ url: 'amqp://u:p@a:5672/v' });
    expect(amqpClientTarget(['amqp://u:p@a:5672/v'])).toEqual({ url: 'amqp://u:p@a:5672/v' });
  });

  it('gives rabbitmq-client every node as host:port, with the first URL for credentials and vhost', () => {
    expect(amqpClientTarget(['amqp://u:p@a:5672/v', 'amqp://u:p@b:5673/v', 'amqp://u:p@127.0.0.1:5674/v'])).toEqual({
      url: 'amqp://u:p@a:5672/v',
      hosts: ['a:5672', 'b:5673', '127.0.0.1:5674'],
    });
  });

  it('refuses an empty list', () => {
    expect(() => amqpClientTarget([])).toThrow('Expected at least one broker URL');
  });
});

describe('UrlRotation', () => {
  it('hands out the URLs in turn, from the first, and starts over', () => {
    const rotation = new UrlRotation(['amqp://a', 'amqp://b', 'amqp://c']);
    expect(Array.from({ length: 7 }, () => rotation.next())).toEqual([
      'amqp://a',
      'amqp://b',
      'amqp://c',
      'amqp://a',
      'amqp://b',
      'amqp://c',
      'amqp://a',
    ]);
  });

  it('always hands out a single URL', () => {
    const rotation = new UrlRotation('amqp://a');
    expect([rotation.next(), rotation.next()]).toEqual(['amqp://a', 'amqp://a']);
  });
});

describe('mqttServers', () => {
  it('is undefined for one URL (MQTT.js then takes the URL alone)', () => {
    expect(mqttServers('mqtt://u:p@a:1883')).toBeUndefined();
  });

  it('lists host, port and protocol of every node, with default ports', () => {
    expect(mqttServers(['mqtt://u:p@a:1884', 'mqtt://u:p@b', 'mqtts://c'])).toEqual([
      { host: 'a', port: 1884, protocol: 'mqtt' },
      { host: 'b', port: 1883, protocol: 'mqtt' },
      { host: 'c', port: 8883, protocol: 'mqtts' },
    ]);
  });
});
