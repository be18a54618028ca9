import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadProcessorConfig, parseVariables } from './config';
import { problemsOf } from './test/problems';
import { splitUrlList, urlListProblem } from './url-list';

const cwd = mkdtempSync(join(tmpdir(), 'tally-url-list-'));
writeFileSync(join(cwd, 'nx.json'), '{}');

const amqp = { protocols: ['amqp:', 'amqps:'], expected: 'an amqp:// or amqps:// URL' };

describe('splitUrlList', () => {
  it('splits at commas that start another URL, and trims', () => {
    expect(splitUrlList('amqp://a:5672, amqp://b:5673 ,amqp://c')).toEqual(['amqp://a:5672', 'amqp://b:5673', 'amqp://c']);
  });

  it('keeps a comma inside a password', () => {
    expect(splitUrlList('amqp://u:pa,ss@a:5672,amqp://u:pa,ss@b:5672')).toEqual(['amqp://u:pa,ss@a:5672', 'amqp://u:pa,ss@b:5672']);
  });
});

describe('urlListProblem', () => {
  it('accepts one URL or several that differ only by host and port', () => {
    expect(urlListProblem('amqp://u:p@a:5672/v', amqp)).toBeUndefined();
    expect(urlListProblem('amqp://u:p@a:5672/v,amqp://u:p@b:5672/v,amqp://u:p@a:5673/v', amqp)).toBeUndefined();
    expect(urlListProblem('amqp://a:5672,amqp://b:5672/', amqp)).toBeUndefined();
  });

  it('names the bad URL of a list', () => {
    expect(urlListProblem('amqp://a,http://b', amqp)).toBe('URL 2 of 2: expected an amqp:// or amqps:// URL');
    expect(urlListProblem('amqp://a,amqp://', amqp)).toBe('URL 2 of 2: expected an amqp:// or amqps:// URL');
  });

  it('hints at the scheme when a list lacks it', () => {
    expect(urlListProblem('amqp://a:5672,b:5672', amqp)).toBe(
      'expected an amqp:// or amqps:// URL (several are separated by commas, each with its scheme)',
    );
  });

  it('refuses the same node twice', () => {
    expect(urlListProblem('amqp://a:5672,amqp://b:5672,amqp://a:5672', amqp)).toBe('URL 3 of 3 names the same host and port as URL 1');
  });

  it('refuses URLs that log in differently: the clients use one user, password and vhost for all', () => {
    const differs = 'expected the scheme, user, password and vhost of URL 1 (only host and port may differ)';
    expect(urlListProblem('amqp://u:p@a/v,amqp://u:q@b/v', amqp)).toBe(`URL 2 of 2: ${differs}`);
    expect(urlListProblem('amqp://u:p@a/v,amqp://u:p@b/w', amqp)).toBe(`URL 2 of 2: ${differs}`);
    expect(urlListProblem('amqp://a,amqps://b', amqp)).toBe(`URL 2 of 2: ${differs}`);
  });
});

describe('AMQP_URL and MQTT_URL lists', () => {
  it('give the apps every URL, in order', () => {
    const env = {
      AMQP_URL: 'amqp://u:p@rabbit-0:5672/tally, amqp://u:p@rabbit-1:5672/tally',
      MQTT_URL: 'mqtt://u:p@rabbit-0:1883,mqtt://u:p@rabbit-1:1883',
    };
    expect(loadProcessorConfig({ env, cwd }).amqpUrls).toEqual(['amqp://u:p@rabbit-0:5672/tally', 'amqp://u:p@rabbit-1:5672/tally']);
    expect(parseVariables(['AMQP_URL', 'MQTT_URL'], env)).toEqual({
      AMQP_URL: ['amqp://u:p@rabbit-0:5672/tally', 'amqp://u:p@rabbit-1:5672/tally'],
      MQTT_URL: ['mqtt://u:p@rabbit-0:1883', 'mqtt://u:p@rabbit-1:1883'],
    });
  });

  it('name the variable and the bad URL, and print no password of any URL', () => {
    const env = { AMQP_URL: 'amqp://u:SECRET1@a:5672,amqp://u:SECRET2@a:5672' };
    expect(problemsOf(() => loadProcessorConfig({ env, cwd }))).toEqual([
      'AMQP_URL: URL 2 of 2 names the same host and port as URL 1, got "amqp://u:***@a:5672,amqp://u:***@a:5672"',
    ]);
  });
});
