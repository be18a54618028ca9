import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { closeSync, openSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';

export interface ManagedProcessOptions {
  command: string;
  args: readonly string[];
  env?: NodeJS.ProcessEnv;
  /** stdout and stderr are appended here. */
  logFile: string;
  /** Run as this user and group instead of ours (e.g. PostgreSQL's `postgres`, when we are root). */
  runAs?: { uid: number; gid: number };
  /**
   * What asks the server to stop, on `stop()` and when this process dies.
   * @default 'SIGTERM'
   */
  stopSignal?: NodeJS.Signals;
}

/** Where `command` is on PATH, if it is. */
export function onPath(command: string): string | undefined {
  const which = spawnSync('sh', ['-c', `command -v ${command}`], { encoding: 'utf8' });
  return which.stdout.trim() || undefined;
}

const hasSetpriv = spawnSync('setpriv', ['--help'], { stdio: 'ignore' }).status === 0;

/**
 * A server process we started and must stop. It runs in a process group of its own, so that
 * stopping it stops whatever it forked, and (where `setpriv` exists) it gets SIGTERM from the
 * kernel if this process dies without cleaning up, so nothing is left behind even after SIGKILL.
 */
export class ManagedProcess {
  readonly pid: number;
  readonly exited: Promise<number | null>;
  #child: ChildProcess;
  #exitCode: number | null | undefined;

  constructor(readonly options: ManagedProcessOptions) {
    const out = openSync(options.logFile, 'a');
    // setpriv runs after the switch to `runAs`, which would otherwise clear the death signal.
    const [command, args] = hasSetpriv
      ? ['setpriv', ['--pdeathsig', this.#stopSignal, '--', options.command, ...options.args]]
      : [options.command, options.args];
    this.#child = spawn(command, args, {
      env: options.env,
      stdio: ['ignore', out, out],
      detached: true,
      ...options.runAs,
    });
    closeSync(out);
    if (this.#child.pid === undefined) throw new Error(`Cannot start ${options.command}`);
    this.pid = this.#child.pid;
    this.exited = new Promise((resolve) => {
      this.#child.once('exit', (code) => {
        this.#exitCode = code;
        resolve(this.#exitCode);
      });
      this.#child.once('error', () => resolve(null));
    });
  }

  get running(): boolean {
    return this.#exitCode === undefined;
  }

  get #stopSignal(): NodeJS.Signals {
    return this.options.stopSignal ?? 'SIGTERM';
  }

  /** The stop signal to the group, then SIGKILL after `graceMs`; resolves once the leader has exited. */
  async stop(graceMs = 15_000): Promise<void> {
    if (!this.running) return;
    this.#signalGroup('SIGCONT');
    this.#signalGroup(this.#stopSignal);
    const stopped = await Promise.race([this.exited.then(() => true), sleep(graceMs, undefined, { ref: false }).then(() => false)]);
    if (!stopped) {
      this.#signalGroup('SIGKILL');
      await this.exited;
    }
    // Anything the leader forked into its group and left behind.
    this.#signalGroup('SIGKILL');
  }

  /** Freezes the process group (SIGSTOP): a server that hangs without closing its sockets. */
  pause(): void {
    this.#signalGroup('SIGSTOP');
  }

  resume(): void {
    this.#signalGroup('SIGCONT');
  }

  #signalGroup(signal: NodeJS.Signals): void {
    try {
      process.kill(-this.pid, signal);
    } catch {
      // The group is gone already.
    }
  }
}
