import { join } from 'node:path';
import { bundlePath, runApp, type DevstackUrls, type RunningApp } from '@tally/devstack';
import type { MongoClient } from 'mongodb';

/** What every phase of the harness works with. */
export interface BenchContext {
  /** The workspace root. */
  root: string;
  urls: DevstackUrls;
  mongo: MongoClient;
  /** Distinguishes this run's databases from another run's. */
  runId: string;
  cleanup: Cleanup;
}

/**
 * Undo steps (kill a process, drop a database, delete a vhost) that run when their phase ends, or
 * all at once, newest first, when the harness is interrupted.
 */
export interface Cleanup {
  /** Registers `step`; the returned function runs it now (once) and unregisters it. */
  defer(step: () => Promise<unknown>): () => Promise<void>;
  runAll(): Promise<void>;
}

export function createCleanup(): Cleanup {
  const steps: (() => Promise<void>)[] = [];
  return {
    defer(step) {
      let running: Promise<void> | undefined;
      // Listed until done, so that a runAll meanwhile (an interrupt's, a phase's end) waits for it.
      const run = () =>
        (running ??= (async () => {
          try {
            await step();
          } finally {
            steps.splice(steps.indexOf(run), 1);
          }
        })());
      steps.push(run);
      return run;
    },
    async runAll() {
      for (const step of [...steps].reverse()) await step().catch(() => undefined);
    },
  };
}

export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

export interface BundleOptions {
  /** `processor` or `api`: runs `dist/apps/<app>/main.js`, built by `nx build <app>`. */
  app: 'processor' | 'api';
  /** The app's environment; nothing else is inherited but PATH (and no `.env` file is read). */
  env: Record<string, string>;
}

/** Starts an app's built bundle with plain node, as its image does. */
export function startBundle(context: BenchContext, { app, env }: BundleOptions): RunningApp {
  return runApp({
    appDir: join(context.root, 'apps', app),
    bundle: bundlePath(context.root, app),
    env: { ENV_FILE: '/dev/null', LOG_LEVEL: 'warn', ...env },
  });
}

/** SIGTERM, then SIGKILL if the app is still running after `graceMs`; resolves with its exit code. */
export async function stopApp(app: RunningApp, graceMs = 15_000): Promise<number | null> {
  app.kill('SIGTERM');
  const timer = setTimeout(() => app.kill('SIGKILL'), graceMs);
  const code = await app.exited;
  clearTimeout(timer);
  return code;
}
