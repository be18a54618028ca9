import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { BROADCASTER_USAGE, loadBroadcasterConfig } from './broadcaster';
import { problemsOf } from './test/problems';

const cwd = mkdtempSync(join(tmpdir(), 'tally-broadcaster-'));
writeFileSync(join(cwd, 'nx.json'), '{}');

const load = (argv: string[], env: Record<string, string> = {}) => loadBroadcasterConfig({ argv, env, cwd });

const problemsOfArgs = (argv: string[], env: Record<string, string> = {}) => problemsOf(() => load(argv, env));

describe('broadcaster flags', () => {
  it('override the environment', () => {
    const config = load(['--interval', '250', '--transport', 'amqp', '--buffer', '10'], {
      BROADCAST_INTERVAL_MS: '5000',
      BROADCAST_TRANSPORT: 'mqtt',
    });
    expect(config).toMatchObject({ intervalMs: 250, transport: 'amqp', bufferLimit: 10, window: 1 });
  });

  it('--rate sets the interval and widens the window; --window overrides it', () => {
    expect(load(['--rate', '8000'])).toMatchObject({ rate: 8000, intervalMs: 0.125, window: 1000 });
    expect(load(['--rate', '8000', '--window', '50'])).toMatchObject({ window: 50 });
  });

  it('--count stops after N', () => {
    expect(load(['--count', '12'])).toMatchObject({ count: 12 });
    expect(load(['--count=3'])).toMatchObject({ count: 3 });
  });

  it('names the flag, not the variable, when a flag value is bad', () => {
    expect(problemsOfArgs(['--interval', 'soon', '--count', '0', '--transport', 'smoke-signals'])).toEqual([
      '--interval: expected an integer from 1 to 86400000, got "soon"',
      '--transport: expected one of mqtt, amqp, got "smoke-signals"',
      '--count: expected an integer from 1 to 1000000000, got "0"',
    ]);
  });

  it('still names the variable when the bad value came from the environment', () => {
    expect(problemsOfArgs([], { BROADCAST_INTERVAL_MS: '-5' })).toEqual([
      'BROADCAST_INTERVAL_MS: expected an integer from 1 to 86400000, got "-5"',
    ]);
  });

  it('rejects unknown options and stray arguments', () => {
    expect(problemsOfArgs(['--fast'])[0]).toMatch(/^Unknown option '--fast'.*\(see --help\)$/);
    expect(problemsOfArgs(['now'])[0]).toMatch(/\(see --help\)$/);
  });

  it('--help asks for the usage, which lists every flag with its variable and default', () => {
    expect(load(['--help']).help).toBe(true);
    for (const flag of ['--interval MS', '--transport', '--count N', '--rate R', '--window N', '--buffer N', '--help']) {
      expect(BROADCASTER_USAGE).toContain(flag);
    }
    expect(BROADCASTER_USAGE).toContain('[BROADCAST_INTERVAL_MS, default 1000]');
  });
});
