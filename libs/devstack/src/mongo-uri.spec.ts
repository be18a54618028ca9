import { describe, expect, it } from 'vitest';
import { testDatabase, withDatabase } from './mongo-uri';

describe('testDatabase', () => {
  it.each([
    ['mongodb://127.0.0.1:27017/tally', 'mongodb://127.0.0.1:27017/'],
    ['mongodb://127.0.0.1:27017/tally?authSource=admin&replicaSet=rs0', 'mongodb://127.0.0.1:27017/', '?authSource=admin&replicaSet=rs0'],
    ['mongodb://127.0.0.1:27017', 'mongodb://127.0.0.1:27017/'],
    ['mongodb://127.0.0.1:27017/', 'mongodb://127.0.0.1:27017/'],
    ['mongodb://db1:27017,db2:27018/tally?replicaSet=rs0', 'mongodb://db1:27017,db2:27018/', '?replicaSet=rs0'],
    ['mongodb://u%40ser:p%2Fss@h:1/tally?authSource=admin', 'mongodb://u%40ser:p%2Fss@h:1/', '?authSource=admin'],
    ['mongodb+srv://user:pass@cluster0.example.com/tally?retryWrites=true', 'mongodb+srv://user:pass@cluster0.example.com/', '?retryWrites=true'],
  ])('puts a fresh database into %s, keeping hosts, credentials and options', (uri, before, after = '') => {
    const { name, uri: fresh } = testDatabase(uri, 'api_test');
    expect(name).toMatch(/^api_test_[0-9a-f]{8}$/);
    expect(fresh).toBe(`${before}${name}${after}`);
  });

  it('names a different database each time', () => {
    const names = new Set(Array.from({ length: 100 }, () => testDatabase('mongodb://h:1/tally').name));
    expect(names.size).toBe(100);
    expect([...names].every((name) => name.startsWith('test_'))).toBe(true);
  });

  it('turns dashes in the prefix into underscores, and refuses a prefix that is no database name', () => {
    expect(testDatabase('mongodb://h:1/tally', 'broker-outage').name).toMatch(/^broker_outage_[0-9a-f]{8}$/);
    expect(() => testDatabase('mongodb://h:1/tally', 'a/b')).toThrow(/prefix/);
    expect(() => testDatabase('mongodb://h:1/tally', '')).toThrow(/prefix/);
  });

  it('refuses what is not a MongoDB connection string', () => {
    expect(() => testDatabase('http://h:1/tally')).toThrow();
  });
});

describe('withDatabase', () => {
  it('replaces the database, or removes it when given none', () => {
    expect(withDatabase('mongodb://h:1/tally?authSource=admin', 'other')).toBe('mongodb://h:1/other?authSource=admin');
    expect(withDatabase('mongodb://h:1/tally?authSource=admin', '')).toBe('mongodb://h:1/?authSource=admin');
    expect(withDatabase('mongodb://h:1/tally', '')).toBe('mongodb://h:1/');
    expect(withDatabase('mongodb://u:p@a:1,b:2/tally?replicaSet=rs0', 'bench_x')).toBe('mongodb://u:p@a:1,b:2/bench_x?replicaSet=rs0');
    expect(withDatabase('mongodb://a:1', 'bench_x')).toBe('mongodb://a:1/bench_x');
  });
});
