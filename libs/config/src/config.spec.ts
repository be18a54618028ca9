import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadApiConfig, loadProcessorConfig } from './config';
import { problemsOf } from './test/problems';
import { repositoryRoot as root } from './test/repository';
import { VARIABLES } from './variables';

/** An empty directory: no `.env` is found from it. */
const cwd = mkdtempSync(join(tmpdir(), 'tally-config-'));
writeFileSync(join(cwd, 'nx.json'), '{}');

describe('defaults', () => {
  it('gives every app its documented defaults when nothing is set', () => {
    expect(loadProcessorConfig({ env: {}, cwd })).toEqual({
      amqpUrls: ['amqp://guest:guest@127.0.0.1:5672'],
      partitions: 4,
      mongodbUri: 'mongodb://127.0.0.1:27017/tally',
      prefetch: 1000,
      batchSize: 500,
      batchMaxWaitMs: 50,
      healthPort: undefined,
      rollupRefreshIntervalMs: 1000,
      rawRetentionMs: undefined,
      healthHost: '127.0.0.1',
      logLevel: 'info',
    });
    expect(loadApiConfig({ env: {}, cwd })).toEqual({
      amqpUrls: ['amqp://guest:guest@127.0.0.1:5672'],
      mongodbUri: 'mongodb://127.0.0.1:27017/tally',
      port: 8000,
      host: '127.0.0.1',
      token: undefined,
      requestTimeoutMs: 5000,
      maxConcurrentQueries: 16,
      maxStreams: 1000,
      metricsPort: undefined,
      metricsHost: '127.0.0.1',
      logLevel: 'info',
    });
  });

  it('takes the metrics ports, 0 for a free one', () => {
    expect(loadApiConfig({ env: { API_METRICS_PORT: '9464', API_METRICS_HOST: '0.0.0.0' }, cwd })).toMatchObject({
      metricsPort: 9464,
      metricsHost: '0.0.0.0',
    });
    expect(problemsOf(() => loadApiConfig({ env: { API_METRICS_PORT: '70000' }, cwd }))).toEqual([
      'API_METRICS_PORT: expected an integer from 0 to 65535, got "70000"',
    ]);
  });

  it('takes a raw retention in hours or days, at least an hour', () => {
    expect(loadProcessorConfig({ env: { RAW_RETENTION: '90d' }, cwd }).rawRetentionMs).toBe(90 * 86_400_000);
    expect(loadProcessorConfig({ env: { RAW_RETENTION: '36h' }, cwd }).rawRetentionMs).toBe(36 * 3_600_000);
    for (const bad of ['90', '1.5d', '0h', '90 days', '-1d']) {
      expect(() => loadProcessorConfig({ env: { RAW_RETENTION: bad }, cwd }), bad).toThrow(/RAW_RETENTION: expected/);
    }
  });

  it('takes the most queries at once, at least 1', () => {
    expect(loadApiConfig({ env: { API_MAX_CONCURRENT_QUERIES: '4' }, cwd }).maxConcurrentQueries).toBe(4);
    expect(problemsOf(() => loadApiConfig({ env: { API_MAX_CONCURRENT_QUERIES: '0' }, cwd }))).toEqual([
      'API_MAX_CONCURRENT_QUERIES: expected an integer from 1 to 10000, got "0"',
    ]);
  });

  it('treats an empty variable as unset', () => {
    expect(loadApiConfig({ env: { API_PORT: '', API_TOKEN: '' }, cwd })).toMatchObject({
      port: 8000,
      token: undefined,
    });
  });
});

describe('bad values', () => {
  it('names every bad variable and what it expects, in one error', () => {
    const problems = problemsOf(() =>
      loadApiConfig({ env: { API_PORT: 'abc', MONGODB_URI: 'not-a-url', LOG_LEVEL: 'loud' }, cwd }),
    );
    expect(problems).toEqual([
      'MONGODB_URI: expected a mongodb:// or mongodb+srv:// connection string, got "not-a-url"',
      'API_PORT: expected an integer from 1 to 65535, got "abc"',
      'LOG_LEVEL: expected one of fatal, error, warn, info, debug, trace, silent, got "loud"',
    ]);
  });

  it('takes an address to listen on, and refuses what is not one', () => {
    expect(loadApiConfig({ env: { API_HOST: '0.0.0.0' }, cwd }).host).toBe('0.0.0.0');
    expect(loadProcessorConfig({ env: { PROCESSOR_HEALTH_HOST: '::' }, cwd }).healthHost).toBe('::');
    expect(problemsOf(() => loadApiConfig({ env: { API_HOST: 'http://x/' }, cwd }))[0]).toMatch(/^API_HOST: expected an IP address/);
  });

  it.each([
    ['API_PORT', '0'],
    ['API_PORT', '65536'],
    ['API_PORT', '80.5'],
    ['API_PORT', '-1'],
  ])('rejects %s=%s', (name, value) => {
    expect(problemsOf(() => loadApiConfig({ env: { [name]: value }, cwd }))).toHaveLength(1);
  });

  it('refuses a token of spaces alone, which would turn authentication off', () => {
    expect(problemsOf(() => loadApiConfig({ env: { API_TOKEN: ' ' }, cwd }))).toEqual([
      'API_TOKEN: expected a token of printable ASCII characters without spaces (unset it to turn authentication off)',
    ]);
    const [problem] = problemsOf(() => loadApiConfig({ env: { API_TOKEN: 'two SECRET-words' }, cwd }));
    expect(problem, 'a bad token is not shown').not.toContain('SECRET');
    expect(loadApiConfig({ env: { API_TOKEN: ' s3cret-token ' }, cwd }).token).toBe('s3cret-token');
  });

  it.each([
    ['mongodb://127.0.0.1:27017/a%20b', 'holds a space'],
    ['mongodb://127.0.0.1:27017/a.b', 'holds "."'],
    ['mongodb://127.0.0.1:27017/a%2Fb', 'holds "/"'],
    ['mongodb://127.0.0.1:27017/a$b', 'holds "$"'],
    [`mongodb://127.0.0.1:27017/${'d'.repeat(64)}`, '64 bytes long'],
  ])('refuses a database name MongoDB refuses: %s', (uri, problem) => {
    const [message] = problemsOf(() => loadProcessorConfig({ env: { MONGODB_URI: uri }, cwd }));
    expect(message).toMatch(/^MONGODB_URI: the database name/);
    expect(message).toContain(problem);
  });

  it('takes a database name with the characters MongoDB allows', () => {
    const uri = 'mongodb://127.0.0.1:27017/tally_prod-2?authSource=admin';
    expect(loadProcessorConfig({ env: { MONGODB_URI: uri }, cwd }).mongodbUri).toBe(uri);
  });

  it('refuses a batch size over the prefetch, which no batch could reach', () => {
    expect(problemsOf(() => loadProcessorConfig({ env: { BATCH_SIZE: '2000', PROCESSOR_PREFETCH: '1000' }, cwd }))).toEqual([
      expect.stringMatching(/^BATCH_SIZE: 2000 is more than PROCESSOR_PREFETCH \(1000\), so a batch could never fill/),
    ]);
    expect(loadProcessorConfig({ env: { BATCH_SIZE: '1000', PROCESSOR_PREFETCH: '1000' }, cwd }).batchSize).toBe(1000);
  });

  it('accepts a connection string with several hosts, which no WHATWG URL can hold', () => {
    const uri = 'mongodb://u:p@db1:27017,db2:27017,db3:27017/tally?replicaSet=rs0';
    expect(loadApiConfig({ env: { MONGODB_URI: uri }, cwd }).mongodbUri).toBe(uri);
  });

  it('rejects a URL of the wrong scheme', () => {
    expect(problemsOf(() => loadProcessorConfig({ env: { AMQP_URL: 'http://127.0.0.1:5672' }, cwd }))).toEqual([
      'AMQP_URL: expected an amqp:// or amqps:// URL, got "http://127.0.0.1:5672"',
    ]);
  });

  it.each([
    ['AMQP_URL', 'amqp://tally:pa/ss-SECRET@127.0.0.1:5672'],
    ['MONGODB_URI', 'mongodb://tally:pa/ss-SECRET@127.0.0.1:27017/tally'],
    ['AMQP_URL', 'amqp://tally:p@ss:w/rd SECRET@host'],
  ])('never prints a password that holds "/", "@" or spaces: %s=%s', (name, value) => {
    const [problem] = problemsOf(() => loadProcessorConfig({ env: { [name]: value }, cwd }));
    expect(problem).toMatch(/:\*\*\*@/);
    expect(problem).not.toContain('SECRET');
  });

  it('never prints a password', () => {
    const [problem] = problemsOf(() => loadProcessorConfig({ env: { AMQP_URL: 'http://user:s3cret@host' }, cwd }));
    expect(problem).toContain('http://user:***@host');
    expect(problem).not.toContain('s3cret');
  });
});

describe('.env', () => {
  it('is read from the working directory, and the environment wins over it', () => {
    const dir = mkdtempSync(join(tmpdir(), 'tally-dotenv-'));
    writeFileSync(join(dir, '.env'), 'API_PORT=9000\nLOG_LEVEL=debug\n');
    expect(loadApiConfig({ env: { LOG_LEVEL: 'warn' }, cwd: dir })).toMatchObject({ port: 9000, logLevel: 'warn' });
  });

  it('is read from ENV_FILE when set, which must exist', () => {
    const file = join(mkdtempSync(join(tmpdir(), 'tally-envfile-')), 'custom.env');
    writeFileSync(file, 'API_PORT=9100\n');
    expect(loadApiConfig({ env: { ENV_FILE: file }, cwd })).toMatchObject({ port: 9100 });
    expect(problemsOf(() => loadApiConfig({ env: { ENV_FILE: `${file}.missing` }, cwd }))[0]).toMatch(
      /^ENV_FILE: cannot read/,
    );
  });
});

describe('documentation', () => {

  it('.env.example lists every variable with its default and description', () => {
    const example = readFileSync(join(root, '.env.example'), 'utf8');
    for (const [name, variable] of Object.entries(VARIABLES)) {
      expect(example).toContain(`# ${variable.description}\n${variable.default === undefined ? '# ' : ''}${name}=${variable.default ?? ''}\n`);
    }
  });

  it('the README configuration table lists every variable with its default, and nothing else', () => {
    const readme = readFileSync(join(root, 'README.md'), 'utf8');
    for (const [name, variable] of Object.entries(VARIABLES)) {
      expect(readme).toContain(`| \`${name}\` | ${variable.default === undefined ? 'unset' : `\`${variable.default}\``} |`);
    }
    const table = readme.split('\n## Configuration\n')[1]?.split('\n## ')[0] ?? '';
    const listed = [...table.matchAll(/^\| `([A-Z0-9_]+)` \|/gm)].map((match) => match[1] ?? '');
    expect(listed.filter((name) => !(name in VARIABLES)), 'in the table but not a variable').toEqual([]);
  });
});
