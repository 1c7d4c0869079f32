#!/usr/bin/env node
// The `huitong` command: runs the built code in dist/, or the TypeScript
// sources through tsx when no build exists (a development checkout).
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const built = new URL('../dist/gateway/src/cli/run.js', import.meta.url);
if (existsSync(fileURLToPath(built))) {
  await import(built.href);
} else {
  const { register } = await import('tsx/esm/api');
  register();
  await import(new URL('../gateway/src/cli/run.ts', import.meta.url).href);
}
