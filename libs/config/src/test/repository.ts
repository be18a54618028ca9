import { readdirSync } from 'node:fs';
import { join } from 'node:path';

/** The repository's root, for the tests that keep its documentation true. */
export const repositoryRoot = join(import.meta.dirname, '../../../..');

const SKIPPED = new Set(['node_modules', 'dist', 'tmp', '.nx', '.git']);

/** Every file under `dir`, but what git ignores wholesale (dependencies, builds, scratch). */
export function* repositoryFiles(dir: string): Generator<string> {
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    if (SKIPPED.has(entry.name)) continue;
    const path = join(dir, entry.name);
    if (entry.isDirectory()) yield* repositoryFiles(path);
    else yield path;
  }
}
