import { parseArgs } from 'node:util';
import type { Logger } from '@tally/runtime';
import { createMongoConnection, createStatusEventStore, StoreError, type StatusEventStore } from '@tally/store';

export const REBUILD_USAGE = `Usage: processor --rebuild-rollups [--from ISO-8601] [--to ISO-8601]

Recomputes the rollups from the raw readings, newest day first, then exits: for readings stored
before rollups existed (the default range: from the earliest reading to where the rollups hold
every reading), or after a bug (give --from and --to). Counts stay exact meanwhile. SIGINT or
SIGTERM stop it after the day in progress (exit status 130), logging the flags that resume it.
Runs beside the consuming processors.`;

export interface RebuildArgs {
  from: Date | undefined;
  to: Date | undefined;
}

/** `undefined` when the processor is to consume as usual; throws a usage error on bad flags. */
export function parseRebuildArgs(argv: readonly string[]): RebuildArgs | undefined {
  const { values } = parseArgs({
    args: [...argv],
    strict: true,
    options: { 'rebuild-rollups': { type: 'boolean' }, from: { type: 'string' }, to: { type: 'string' } },
  });
  if (!values['rebuild-rollups']) {
    if (values.from !== undefined || values.to !== undefined) throw new Error('--from and --to go with --rebuild-rollups');
    return undefined;
  }
  const time = (flag: string, raw: string | undefined) => {
    if (raw === undefined) return undefined;
    const date = new Date(raw);
    if (Number.isNaN(date.getTime())) throw new Error(`--${flag}: expected an ISO-8601 time, got "${raw}"`);
    return date;
  };
  const args = { from: time('from', values.from), to: time('to', values.to) };
  if (args.from && args.to && args.from >= args.to) throw new Error('--from must be before --to');
  return args;
}

export interface RebuildProgress {
  /** The day just rebuilt; days go newest first, down to `until`. */
  day: Date;
  until: Date;
  /** Minutes of that day that hold readings. */
  buckets: number;
  daysDone: number;
}

/**
 * Rebuilds the rollups over `[from, to)`, by default from the earliest stored reading to where the
 * rollups already hold every reading. Resolves with the range rebuilt, or `undefined` when there
 * was nothing to do. Counts read the rebuilt days from the rollups only when the range reaches
 * where the rollups held every reading (no gap), else still from the raw readings.
 */
export async function rebuildRollups(
  store: StatusEventStore,
  args: RebuildArgs,
  onProgress: (progress: RebuildProgress) => void,
  signal?: AbortSignal,
): Promise<{ start: Date; end: Date } | undefined> {
  await store.ensureIndexes();
  const [earliest] = await store.collection.find({}, { projection: { ts: 1 } }).sort({ ts: 1 }).limit(1).toArray();
  const [latest] = await store.collection.find({}, { projection: { ts: 1 } }).sort({ ts: -1 }).limit(1).toArray();
  if (!earliest || !latest) return undefined;
  const start = args.from ?? earliest.ts;
  const coverage = await store.rollups.coverage();
  // With --from alone, up to the latest reading, and at least to where coverage starts, so that
  // coverage can move back over what is rebuilt (readings need not reach it).
  const end = args.to ?? (args.from ? new Date(Math.max(latest.ts.getTime() + 1, coverage.getTime())) : coverage);
  if (start >= end) return undefined;
  let daysDone = 0;
  await store.rollups.rebuild(
    { start, end },
    { signal, onProgress: ({ day, buckets }) => onProgress({ day, until: start, buckets, daysDone: ++daysDone }) },
  );
  return { start, end };
}

/** Exit status of a rebuild refused because the raw readings of its days expired (RAW_RETENTION). */
export const REBUILD_REFUSED = 1;

/** Exit status of a rebuild stopped by SIGINT/SIGTERM (as a shell reports a process ended by SIGINT). */
export const REBUILD_STOPPED = 130;

/**
 * `--rebuild-rollups`: rebuilds, logging each day, and resolves with the exit status. SIGINT or
 * SIGTERM stop it once the day in progress is done (a second one exits at once): it then logs the
 * flags that resume it and resolves with 130.
 */
export async function runRebuild(mongodbUri: string, args: RebuildArgs, logger: Logger): Promise<number> {
  const mongo = createMongoConnection({ uri: mongodbUri });
  const stopping = new AbortController();
  const stop = (signal: NodeJS.Signals) => {
    if (stopping.signal.aborted) {
      logger.warn({ signal }, 'second signal: exiting now');
      process.exit(REBUILD_STOPPED);
    }
    logger.info({ signal }, 'stopping after the day in progress');
    stopping.abort();
  };
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
  const store = createStatusEventStore({ db: mongo.db });
  const started = Date.now();
  let lastDay: Date | undefined;
  let from: Date | undefined;
  try {
    const range = await rebuildRollups(
      store,
      args,
      (progress) => {
        lastDay = progress.day;
        from = progress.until;
        logger.info(
          { day: isoDay(progress.day), minutesWithReadings: progress.buckets, daysDone: progress.daysDone, downTo: progress.until },
          'rebuilt a day',
        );
      },
      stopping.signal,
    );
    if (range) logger.info({ from: range.start, to: range.end, seconds: (Date.now() - started) / 1000 }, 'rollups rebuilt');
    else logger.info('nothing to rebuild: the rollups hold every stored reading');
    return 0;
  } catch (error) {
    if (error instanceof StoreError && error.code === 'raw_expired') {
      logger.error({ reason: error.message }, 'rebuild refused: raw readings expired');
      return REBUILD_REFUSED;
    }
    if (!stopping.signal.aborted) throw error;
    const [start, end] = [from ?? args.from, lastDay ?? args.to];
    const resume = ['--rebuild-rollups', start && `--from ${isoDay(start)}`, end && `--to ${isoDay(end)}`].filter(Boolean);
    logger.warn({ rebuiltDownTo: lastDay && isoDay(lastDay), resume: resume.join(' ') }, 'rebuild stopped: run again to resume');
    return REBUILD_STOPPED;
  } finally {
    process.off('SIGINT', stop);
    process.off('SIGTERM', stop);
    await mongo.close();
  }
}

function isoDay(date: Date | undefined): string | undefined {
  return date?.toISOString().slice(0, 10);
}
