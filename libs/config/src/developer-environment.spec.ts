import { readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { describe, expect, it } from 'vitest';
import { repositoryFiles as files, repositoryRoot as root } from './test/repository';

/** Every variable that code outside libs/config reads: `process.env` in TypeScript and JavaScript, `${TALLY_…}` in shell scripts. */
function variablesRead(): Map<string, string[]> {
  const read = new Map<string, string[]>();
  const note = (name: string, path: string) => read.set(name, [...(read.get(name) ?? []), relative(root, path)]);
  for (const top of ['apps', 'libs', 'tools', 'deploy', 'docker']) {
    for (const path of files(join(root, top))) {
      if (relative(root, path).startsWith(join('libs', 'config'))) continue;
      if (!/\.([mc]?[jt]s|sh)$/.test(path)) continue;
      const text = readFileSync(path, 'utf8');
      const pattern = path.endsWith('.sh') ? /\$\{(TALLY_[A-Z0-9_]+)/g : /process\.env(?:\[['"]([A-Z0-9_]+)['"]\]|\.([A-Z0-9_]+))/g;
      for (const match of text.matchAll(pattern)) note(match[1] ?? match[2] ?? '', path);
    }
  }
  read.delete('PATH');
  return read;
}

/** The variables named in the first column of docs/development.md's table. */
function variablesDocumented(): string[] {
  const doc = readFileSync(join(root, 'docs', 'development.md'), 'utf8');
  const section = doc.split('## Environment of the developer tools')[1]?.split('\n## ')[0] ?? '';
  return section
    .split('\n')
    .filter((line) => line.startsWith('| `'))
    .flatMap((line) => [...(line.split('|')[1] ?? '').matchAll(/`([A-Z0-9_]+)`/g)].map((match) => match[1] ?? ''));
}

describe('docs/development.md, the environment of the developer tools', () => {
  it('lists every variable that code outside libs/config reads, and nothing else', () => {
    const read = variablesRead();
    expect(read.size).toBeGreaterThan(0);
    const documented = variablesDocumented();
    expect(documented.filter((name) => !read.has(name)), 'documented but read nowhere').toEqual([]);
    const missing = [...read].filter(([name]) => !documented.includes(name)).map(([name, where]) => `${name} (${where.join(', ')})`);
    expect(missing, 'read but not documented').toEqual([]);
  });

  it('is linked from the README', () => {
    expect(readFileSync(join(root, 'README.md'), 'utf8')).toContain('(docs/development.md#environment-of-the-developer-tools)');
  });
});
