import { randomBytes } from 'node:crypto';
import { open, rename, rm } from 'node:fs/promises';
import path from 'node:path';

/** Makes a rename or a new file in `dir` durable (a no-op where directories cannot be opened). */
export async function fsyncDir(dir: string): Promise<void> {
  let fh;
  try {
    fh = await open(dir, 'r');
    await fh.sync();
  } catch {
    // some platforms and file systems refuse fsync on a directory; the rename is still atomic
  } finally {
    await fh?.close();
  }
}

/** Writes a small file completely or not at all: temporary file, fsync, rename, fsync of the directory. */
export async function writeFileAtomic(file: string, data: string | Buffer, mode = 0o600): Promise<void> {
  const tmp = path.join(path.dirname(file), `.${path.basename(file)}.${randomBytes(6).toString('hex')}.tmp`);
  try {
    const fh = await open(tmp, 'wx', mode);
    try {
      await fh.writeFile(data);
      await fh.sync();
    } finally {
      await fh.close();
    }
    await rename(tmp, file);
    await fsyncDir(path.dirname(file));
  } finally {
    await rm(tmp, { force: true });
  }
}
