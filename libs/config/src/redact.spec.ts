import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { redactCredentials, redactUrl } from './redact';

const user = fc.stringMatching(/^[A-Za-z0-9._~-]{1,12}$/);
/** Any password at all: `/`, `@`, `:`, `%`, spaces, non-ASCII. */
const password = fc.string({ minLength: 1, maxLength: 40, unit: 'binary' });
const rest = fc.constantFrom('127.0.0.1:5672', 'rabbit/prod', 'db1:27017,db2:27017/tally?replicaSet=rs0', 'host');

describe('redactUrl', () => {
  it('hides the password of the issue: amqp://tally:pa/ss-SECRET@127.0.0.1:5672', () => {
    expect(redactUrl('amqp://tally:pa/ss-SECRET@127.0.0.1:5672')).toBe('amqp://tally:***@127.0.0.1:5672');
    expect(redactUrl('mongodb://tally:pa/ss-SECRET@db:27017/tally')).toBe('mongodb://tally:***@db:27017/tally');
  });

  it('hides any password, whatever its characters, and keeps the user and host', () => {
    fc.assert(
      fc.property(fc.constantFrom('amqp', 'amqps', 'mqtt', 'mongodb', 'mongodb+srv'), user, password, rest, (scheme, u, p, r) => {
        expect(redactUrl(`${scheme}://${u}:${p}@${r}`)).toBe(`${scheme}://${u}:***@${r}`);
      }),
      { numRuns: 2000 },
    );
  });

  it('hides a user information without a password whole, and one without a scheme', () => {
    fc.assert(
      fc.property(password.filter((p) => !p.includes(':')), rest, (token, r) => {
        expect(redactUrl(`amqp://${token}@${r}`)).toBe(`amqp://***@${r}`);
      }),
    );
    expect(redactUrl('amqp//tally:pa/ss@host')).toBe('amqp//tally:***@host');
  });

  it('leaves a value without credentials as it is', () => {
    expect(redactUrl('amqp://127.0.0.1:5672/vhost')).toBe('amqp://127.0.0.1:5672/vhost');
  });
});

describe('redactCredentials', () => {
  it('hides the password of every URL in a message', () => {
    fc.assert(
      fc.property(user, password.filter((p) => !/\s/.test(p)), rest, (u, p, r) => {
        const text = `cannot connect to amqp://${u}:${p}@${r}: refused; also mongodb://${u}:${p}@${r} failed`;
        expect(redactCredentials(text)).not.toContain(`:${p}@`);
      }),
      { numRuns: 1000 },
    );
  });
});
