import { randomInt } from 'node:crypto';
import { readFileSync } from 'node:fs';
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

/** The lowest port `freePort` picks itself. */
const LOWEST_PICKED = 10_000;

/**
 * The kernel's ephemeral ports, `[first, last]`: where an outgoing connection takes its local port
 * from, and where it picks a port for `listen(0)`.
 */
export function ephemeralPorts(file = '/proc/sys/net/ipv4/ip_local_port_range'): [number, number] | undefined {
  try {
    const [first, last] = readFileSync(file, 'utf8').trim().split(/\s+/).map(Number);
    return Number.isInteger(first) && Number.isInteger(last) ? [first as number, last as number] : undefined;
  } catch {
    return undefined;
  }
}

/**
 * `preferred` when nothing listens there, else a free port below the kernel's ephemeral ports.
 * A port is picked some seconds before the server that gets it listens (FerretDB only once its
 * PostgreSQL is up): one the kernel picked would stay in its ephemeral range meanwhile, where any
 * outgoing connection of the tests may take it as its local port, and the server could not bind.
 * Below that range only another listener can take it. (Where the range is not known, the kernel picks.)
 */
export async function freePort(preferred?: number): Promise<number> {
  if (preferred !== undefined && !(await canConnect('127.0.0.1', preferred, 300))) {
    const port = await listenOn(preferred);
    if (port !== undefined) return port;
  }
  const [firstEphemeral] = ephemeralPorts() ?? [0];
  for (let attempt = 0; firstEphemeral > LOWEST_PICKED && attempt < 20; attempt++) {
    const port = await listenOn(randomInt(LOWEST_PICKED, firstEphemeral));
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
