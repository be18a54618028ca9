import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pollUntil, Scenario, scenarioPerTest, type Api } from './test/scenario';
import { PrivateMongo } from './test/servers';

const OUTAGE_MS = 10_000;
const API_BOUND_MS = 2000;
/** Over the API's bound: scheduling on a loaded machine, not a timing claim. */
const API_SLACK_MS = 1500;

let mongo: PrivateMongo | undefined;

beforeAll(async () => {
  mongo = await PrivateMongo.start();
});

const perTest = scenarioPerTest();

afterAll(async () => {
  await mongo?.dispose();
});

/** Asks the API for counts every half second for `ms`; every answer, with how long it took. */
async function probe(api: Api, ms: number): Promise<{ status: number; ms: number }[]> {
  const answers: { status: number; ms: number }[] = [];
  const end = Date.now() + ms;
  while (Date.now() < end) {
    const { status, ms: took } = await api.count(API_BOUND_MS + 30_000);
    answers.push({ status, ms: Math.round(took) });
    await sleep(Math.min(500, Math.max(0, end - Date.now())));
  }
  return answers;
}

function expectUnavailableInTime(answers: { status: number; ms: number }[]): void {
  expect(answers.length).toBeGreaterThan(0);
  const wrong = answers.filter(({ status, ms }) => ![503, 504].includes(status) || ms > API_BOUND_MS + API_SLACK_MS);
  expect(wrong, `answers while MongoDB was out: ${JSON.stringify(answers)}`).toEqual([]);
}

describe('through MongoDB outages', () => {
  it('stores every reading once after the server is stopped for 10 s, then frozen for 10 s, mid-stream', async () => {
    const server = mongo as PrivateMongo;
    const s = perTest(await Scenario.create('faults-mongo', { mongo: server }));
    await s.startProcessor();
    const api = await s.startApi({ API_REQUEST_TIMEOUT_MS: String(API_BOUND_MS) });
    const streaming = s.publisher.stream(100);
    expect(await pollUntil(async () => (await s.storedCount()) > 400, 30_000)).toBe(true);
    expect((await api.count()).status).toBe(200);

    await server.stop();
    expectUnavailableInTime(await probe(api, OUTAGE_MS));
    await server.restart();
    const afterStop = s.checker.count;
    expect(await pollUntil(async () => (await s.storedCount()) >= afterStop, 60_000), 'stored after the restart').toBe(true);

    server.pause();
    try {
      expectUnavailableInTime(await probe(api, OUTAGE_MS));
    } finally {
      server.resume();
    }
    const afterFreeze = s.checker.count;
    expect(await pollUntil(async () => (await s.storedCount()) >= afterFreeze, 60_000), 'stored after the thaw').toBe(true);
    await streaming.stop();

    await s.finish(); // among its checks: tally.status.dead is empty
  });
});
