import { setTimeout as sleep } from 'node:timers/promises';
import type { RunningApp } from '@tally/devstack';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { orderViolations } from './checker';
import { pollUntil, Scenario, scenarioPerTest } from './test/scenario';
import { PrivateBroker } from './test/servers';

const OUTAGE_MS = 10_000;
const INTERVAL_MS = 10;

let broker: PrivateBroker | undefined;

beforeAll(async () => {
  broker = await PrivateBroker.start();
});

const perTest = scenarioPerTest();

afterAll(async () => {
  await broker?.dispose();
});

/** A processor of `s` with its probes on, and a question to ask it: ready (`/readyz` 200)? */
async function probedProcessor(s: Scenario): Promise<{ processor: RunningApp; ready: () => Promise<boolean> }> {
  const processor = await s.startProcessor({ PROCESSOR_HEALTH_PORT: '0' });
  const { port } = await processor.waitForLog('serving /healthz and /readyz', 0);
  const ready = async () => {
    const response = await fetch(`http://127.0.0.1:${port}/readyz`, { signal: AbortSignal.timeout(2000) });
    return response.status === 200;
  };
  return { processor, ready };
}

describe('through a broker outage', () => {
  it('the processor consumes again within 15 s of each of 3 forced connection closes', async () => {
    const server = broker as PrivateBroker;
    const s = perTest(await Scenario.create('faults-reconnect', { broker: server }));
    const { processor, ready } = await probedProcessor(s);
    const consumingAgain = async (what: string) => {
      expect(await pollUntil(ready, 15_000, 100), `consuming again within 15 s of ${what}`).toBe(true);
      // That it stores again is checked, not how soon: a new document also waits for this test's
      // publisher to reconnect and the broker's quorum queues to take messages again. With six
      // projects' tests at once that took over 15 s in two runs of three, the processor ready and
      // logging readings stored after the fault all along.
      const stored = await s.storedCount();
      expect(await pollUntil(async () => (await s.storedCount()) > stored, 60_000), `storing again after ${what}`).toBe(
        true,
      );
    };
    const stream = s.publisher.stream(100);
    expect(await pollUntil(async () => (await s.storedCount()) > 200, 30_000)).toBe(true);

    const closes = processor.lines.filter((line) => line.msg === 'not consuming: subscribing again').length;
    for (let i = 1; i <= 3; i++) {
      await server.ctl('close_all_connections', '-p', s.vhost.name, `fault suite, close ${i}`);
      await consumingAgain(`forced close ${i}`);
    }
    // Every forced close cost the processor its subscription, and it said so.
    expect(processor.lines.filter((line) => line.msg === 'not consuming: subscribing again').length - closes).toBe(3);

    await stream.stop();
    await s.finish();
  });

  it('the broadcasters over mqtt and amqp have every reading stored once, in order, after the broker was down for 10 s; the processors not ready meanwhile, and ready within 15 s of its restart', async () => {
    const server = broker as PrivateBroker;
    // One outage for both transports, each through a vhost and a processor of its own.
    const runs = await Promise.all(
      (['mqtt', 'amqp'] as const).map(async (transport) => {
        const s = perTest(await Scenario.create(`faults-broker-${transport}`, { broker: server }));
        const { ready } = await probedProcessor(s);
        // Until stopped: the outage comes while it broadcasts, however long the start took. Stopped,
        // it publishes what it holds (one at a time, in order: slow on a loaded machine) for up to a minute.
        const broadcaster = s.startBroadcaster(['--transport', transport, '--interval', String(INTERVAL_MS)], { BROADCAST_STOP_TIMEOUT_MS: '60000' });
        const broadcasting = await broadcaster.waitForLog('broadcasting');
        return { transport, s, ready, broadcaster, startedBy: Date.parse(String(broadcasting['time'])) };
      }),
    );
    for (const { transport, s } of runs) {
      expect(await pollUntil(async () => (await s.storedCount()) >= 100, 30_000), `${transport}: storing before the outage`).toBe(true);
    }

    await server.stop();
    for (const { broadcaster } of runs) await broadcaster.waitForLog('broker unreachable: keeping readings until it is back', 10_000);
    for (const { transport, ready } of runs) {
      expect(await pollUntil(async () => !(await ready()), 5000, 100), `${transport}: processor not ready while the broker is down`).toBe(true);
    }
    // The outage itself, not a wait for something: readings keep coming due while the broker is down.
    await sleep(OUTAGE_MS);
    for (const { transport, ready } of runs) expect(await ready(), `${transport}: processor still not ready while the broker is down`).toBe(false);
    await server.restart();
    const restartedAt = Date.now();
    for (const { transport, ready } of runs) {
      expect(await pollUntil(ready, 15_000, 100), `${transport}: processor ready within 15 s of the broker's restart`).toBe(true);
    }

    for (const { transport, s, broadcaster, startedBy } of runs) {
      expect((await broadcaster.waitForLog('broker back', 60_000))['outageMs'], transport).toBeGreaterThanOrEqual(OUTAGE_MS);
      // What it kept through the outage is published: every reading due by the restart is stored.
      // Then stopped, it publishes what it holds since, and exits 0 with every reading acknowledged.
      const dueByRestart = Math.floor((restartedAt - startedBy) / INTERVAL_MS);
      expect(await pollUntil(async () => (await s.storedCount()) >= dueByRestart, 60_000), `${transport}: caught up after the outage`).toBe(true);
      await s.stopBroadcaster(broadcaster, { intervalMs: INTERVAL_MS, startedBy });
      const { stored } = await s.finish();
      // The processor stamps receivedAt on arrival: readings in the order of their ts were received
      // in that order (equal stamps allowed: one millisecond holds several).
      const violations = orderViolations(stored);
      expect(violations.slice(0, 10), `${transport}: ${violations.length} pairs received out of order`).toEqual([]);
    }
  });
});
