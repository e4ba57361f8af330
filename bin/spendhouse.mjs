#!/usr/bin/env node
// Entry for `npm start`, `npm test`, `npm run migrate`, …: plain JavaScript so it runs on a fresh clone.
// Installs npm dependencies when they are missing, then loads the TypeScript CLI through tsx.
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
if (!existsSync(join(root, 'node_modules', 'tsx'))) {
  const command = existsSync(join(root, 'package-lock.json')) ? 'ci' : 'install';
  console.error(`[spendhouse] installing npm dependencies (npm ${command})…`);
  execFileSync('npm', [command, '--no-audit', '--no-fund'], { cwd: root, stdio: 'inherit' });
}
const { register } = await import('tsx/esm/api');
register();
await import(join(root, 'src', 'cli', 'main.ts'));
