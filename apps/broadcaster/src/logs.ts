import { describeError, type Logger } from '@tally/runtime';
import type { Outbox } from './outbox';

/**
 * One line when the broker becomes unreachable and one when it is back (never one per attempt),
 * and one when the buffer first overflows.
 */
export function outageLog(logger: Logger, bufferLimit: number) {
  let downSince: number | undefined;
  let dropped = 0;
  return {
    down(error: Error) {
      downSince = Date.now();
      dropped = 0;
      logger.warn({ err: describeError(error) }, 'broker unreachable: keeping readings until it is back');
    },
    up(waiting: number) {
      const outageMs = downSince === undefined ? undefined : Date.now() - downSince;
      logger.info({ outageMs, waiting, dropped }, 'broker back');
      downSince = undefined;
      dropped = 0;
    },
    dropped() {
      if (dropped++ === 0) logger.warn({ bufferLimit }, 'buffer full: dropping the oldest readings');
    },
  };
}

/** In load mode, a line every 5 s: acknowledged readings per second and memory. Returns its stop. */
export function logProgress(outbox: Outbox<unknown>, logger: Logger): () => void {
  let last = { at: Date.now(), published: 0 };
  const timer = setInterval(() => {
    const now = Date.now();
    const rate = ((outbox.published - last.published) * 1000) / (now - last.at);
    last = { at: now, published: outbox.published };
    logger.info(
      { published: outbox.published, perSecond: Math.round(rate), waiting: outbox.waiting, rssMb: rssMb() },
      'progress',
    );
  }, 5000);
  timer.unref();
  return () => clearInterval(timer);
}

const rssMb = () => Math.round(process.memoryUsage.rss() / 2 ** 20);
