import { createConnection, createServer } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';

/** Resolves true when something accepts TCP connections on host:port within `timeoutMs`. */
export function canConnect(host: string, port: number, timeoutMs = 1000): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = createConnection({ host, port });
    const done = (ok: boolean) => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(timeoutMs, () => done(false));
    socket.once('connect', () => done(true));
    socket.once('error', () => done(false));
  });
}

function listenOn(port: number): Promise<number | undefined> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', () => resolve(undefined));
    server.listen({ host: '127.0.0.1', port, exclusive: true }, () => {
      const address = server.address();
      server.close(() => resolve(typeof address === 'object' && address ? address.port : undefined));
    });
  });
}

/** `preferred` when nothing listens there, else a free port chosen by the kernel. */
export async function freePort(preferred?: number): Promise<number> {
  if (preferred !== undefined && !(await canConnect('127.0.0.1', preferred, 300))) {
    const port = await listenOn(preferred);
    if (port !== undefined) return port;
  }
  const port = await listenOn(0);
  if (port === undefined) throw new Error('No free TCP port on 127.0.0.1');
  return port;
}

export interface WaitOptions {
  timeoutMs: number;
  intervalMs?: number;
  /** Stops the wait early, e.g. when the process that should answer has exited. */
  abort?: () => Error | undefined;
}

/**
 * Polls `check` (a rejection counts as false) every `intervalMs` until it resolves true, and
 * resolves whether it did within `timeoutMs`. `abort` ends the wait early by throwing what it returns.
 */
export async function pollUntil(check: () => Promise<boolean>, options: WaitOptions): Promise<boolean> {
  const deadline = Date.now() + options.timeoutMs;
  for (;;) {
    const aborted = options.abort?.();
    if (aborted) throw aborted;
    if (await check().catch(() => false)) return true;
    if (Date.now() > deadline) return false;
    await sleep(options.intervalMs ?? 200);
  }
}

/** `pollUntil`, rejecting with `what` in the message when `timeoutMs` pass first. */
export async function waitUntil(what: string, check: () => Promise<boolean>, options: WaitOptions): Promise<void> {
  if (!(await pollUntil(check, options))) throw new Error(`Timed out after ${options.timeoutMs} ms waiting for ${what}`);
}
