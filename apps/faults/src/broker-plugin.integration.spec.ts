import { RABBITMQ_PLUGINS } from '@tally/devstack';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Scenario, scenarioPerTest } from './test/scenario';
import { PrivateBroker } from './test/servers';

const HASH_PLUGIN = 'rabbitmq_consistent_hash_exchange';

let broker: PrivateBroker | undefined;

beforeAll(async () => {
  broker = await PrivateBroker.start({ plugins: RABBITMQ_PLUGINS.filter((plugin) => plugin !== HASH_PLUGIN) });
});

const perTest = scenarioPerTest();

afterAll(async () => {
  await broker?.dispose();
});

describe('a broker without the consistent-hash exchange plugin', () => {
  it('stops the processor and the broadcaster (MQTT and AMQP) at start-up, each with one line naming the plugin and how to enable it', async () => {
    const s = perTest(await Scenario.create('faults-plugin', { broker: broker as PrivateBroker }));
    const apps = [
      s.start('processor'),
      s.start('broadcaster', {}, ['--count', '1']),
      s.start('broadcaster', { BROADCAST_TRANSPORT: 'amqp' }, ['--count', '1']),
    ];
    for (const app of apps) {
      expect(await app.exited).toBe(1);
      const errors = app.lines.filter((line) => line.level >= 50);
      expect(errors).toHaveLength(1);
      expect(errors[0]?.msg).toBe('start-up failed');
      expect(String(errors[0]?.['err'])).toMatch(new RegExp(`^plugin_missing: RabbitMQ lacks the ${HASH_PLUGIN} plugin.*"rabbitmq-plugins enable ${HASH_PLUGIN}"`));
    }
  });
});
