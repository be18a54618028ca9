#!/usr/bin/env node
// Runs the TypeScript CLI in this process (no extra child), so signals reach it directly.
import { register } from 'tsx/esm/api';

register();
await import('../src/cli.ts');
