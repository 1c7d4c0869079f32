// Builds the admin console (admin/dist) when it has not been built yet; used by `npm start` and,
// before the suite, by `npm test` (the end-to-end files run in parallel and must not each build it).
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const index = path.join(root, 'admin', 'dist', 'index.html');

if (!existsSync(index)) {
  console.log('admin console not built yet: npm run build:admin');
  const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';
  const r = spawnSync(npm, ['run', 'build:admin', '--silent'], { cwd: root, stdio: 'inherit', shell: process.platform === 'win32' });
  if (r.status !== 0) {
    console.error('building the admin console failed; the gateway starts anyway and / says the console is not built');
  }
}
