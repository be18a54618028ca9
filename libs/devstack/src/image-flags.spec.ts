import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { imageNodeFlags } from './image-flags';
import { findWorkspaceRoot } from './state';

function workspaceWith(dockerfile: string): string {
  const root = mkdtempSync(join(tmpdir(), 'image-flags-'));
  mkdirSync(join(root, 'docker'));
  writeFileSync(join(root, 'docker', 'Dockerfile'), dockerfile);
  return root;
}

describe('imageNodeFlags', () => {
  it("reads the node flags of a stage's CMD, not of the stage before or after it", () => {
    const root = workspaceWith(
      [
        'FROM node:20 AS runtime',
        'CMD ["node", "main.js"]',
        'FROM runtime AS processor',
        'CMD ["node", "--max-old-space-size=160", "main.js"]',
        'FROM runtime AS api',
        'ENV API_HOST=0.0.0.0',
        'CMD ["node", "--max-semi-space-size=4", "--max-old-space-size=128", "main.js"]',
        'FROM runtime AS api-debug',
        'CMD ["node", "--inspect", "main.js"]',
      ].join('\n'),
    );
    expect(imageNodeFlags(root, 'api')).toEqual(['--max-semi-space-size=4', '--max-old-space-size=128']);
    expect(imageNodeFlags(root, 'processor')).toEqual(['--max-old-space-size=160']);
    expect(imageNodeFlags(root, 'runtime')).toEqual([]);
    expect(() => imageNodeFlags(root, 'broadcaster')).toThrow(/No CMD in the broadcaster stage/);
  });

  it('refuses a CMD that does not run node main.js', () => {
    const root = workspaceWith('FROM node:20 AS api\nCMD ["sh", "-c", "node main.js"]\n');
    expect(() => imageNodeFlags(root, 'api')).toThrow(/does not run node main.js/);
  });

  it("reads this workspace's images: each app's sets a heap limit", () => {
    const root = findWorkspaceRoot(import.meta.dirname);
    for (const app of ['broadcaster', 'processor', 'api']) expect(imageNodeFlags(root, app).join(' ')).toMatch(/--max-old-space-size=\d+/);
  });
});
