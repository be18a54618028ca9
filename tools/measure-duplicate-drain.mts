/**
 * How fast two processors' writers store readings of which many are copies (redeliveries, a
 * publisher's retries), and whether any copy is refused (the processor would dead-letter it):
 * READINGS readings, SHARE of them copies of one of the 1,000 before, dealt to two concurrent
 * writers in alternate batches of 500, each batch retried whole on a rejection as the processor does.
 *
 *   npx nx run devstack:serve &            # or any running devstack
 *   npx tsx tools/measure-duplicate-drain.mts [READINGS] [SHARE]     # default 20000 0.3
 *
 * Measured 2026-12-03 on the devstack (FerretDB v2.5, 2 cores shared with other work), 3 runs each:
 * before batches were inserted in id order, 1,604 / 4,400 / 9,316 readings/s with 11 / 6 / 2
 * copies refused as `16908292: deadlock detected`; since, 16,098 / 17,030 / 27,144 readings/s, none.
 */
import { testDatabase, waitForDevstack } from '@tally/devstack';
import type { StatusEvent } from '@tally/contract';
import { createMongoConnection, createStatusEventStore } from '@tally/store';

const count = Number(process.argv[2] ?? 20_000);
const share = Number(process.argv[3] ?? 0.3);
const BATCH = 500;

const { mongodbUri } = await waitForDevstack();
const connection = createMongoConnection({ uri: testDatabase(mongodbUri, 'duplicate_drain').uri });
const store = createStatusEventStore({ db: connection.db });
try {
  await store.ensureIndexes();
  let seed = 1;
  const random = () => (seed = (seed * 48271) % 2147483647) / 2147483647;
  const readings: StatusEvent[] = [];
  for (let i = 0; readings.length < count; i++) {
    const earlier = readings[Math.max(0, readings.length - 1 - Math.floor(random() * 1000))];
    if (earlier && random() < share) readings.push({ ...earlier });
    else readings.push({ _id: `r${i}`, status: i % 7, ts: new Date(Date.UTC(2026, 0, 1) + i * 1000), receivedAt: new Date() });
  }
  const writers: StatusEvent[][][] = [[], []];
  for (let i = 0; i < readings.length; i += BATCH) writers[(i / BATCH) % 2]?.push(readings.slice(i, i + BATCH));

  const refused = new Map<string, number>();
  let rejectedBatches = 0;
  const started = performance.now();
  await Promise.all(
    writers.map(async (batches) => {
      for (const batch of batches) {
        for (;;) {
          try {
            for (const result of await store.insertReadings(batch)) {
              if (!result.stored) refused.set(result.reason, (refused.get(result.reason) ?? 0) + 1);
            }
            break;
          } catch {
            rejectedBatches++;
          }
        }
      }
    }),
  );
  const seconds = (performance.now() - started) / 1000;
  const stored = await store.collection.countDocuments();
  console.log(
    JSON.stringify({ readings: count, copies: share, seconds, perSecond: Math.round(count / seconds), stored, rejectedBatches, refused: Object.fromEntries(refused) }),
  );
} finally {
  await connection.db.dropDatabase();
  await connection.close();
}
