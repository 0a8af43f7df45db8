import { mkdirSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { STATE_DIR } from '../../core/path.ts';
import { setMtime } from './copy-file.ts';
import { lstatOrUndefined } from './stat.ts';

/**
 * Makes `<root>/.concord/` when missing. Creating it changes the root's mtime, which a plan may
 * not restore (it restores the times of directories it writes into) and which a source root
 * must not show at all: the root's times are put back, or the next run would find the root
 * out of sync (S12). Returns the folder's path.
 */
export function ensureStateDir(root: string): string {
  const dir = join(root, STATE_DIR);
  if (lstatOrUndefined(dir)) return dir;
  const before = lstatOrUndefined(root);
  // Not recursive: the root is there, and Node's recursive mkdir reports ENOENT for EROFS, so a
  // read-only mount was refused instead of indexed under its path.
  try {
    mkdirSync(dir);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
  }
  if (before) setMtime(root, before.mtimeNs);
  return dir;
}

/** `<root>/.concord/<name>/`, made when missing (the state folder first, as ensureStateDir). */
export function ensureStateSubdir(root: string, name: string): string {
  const dir = join(ensureStateDir(root), name);
  mkdirSync(dir, { recursive: true });
  return dir;
}

/** Writes `text` into `file` whole: written aside and renamed, a kill never leaves half of it. */
export function writeWhole(file: string, text: string): void {
  const tmp = `${file}.${process.pid}`;
  writeFileSync(tmp, text);
  renameSync(tmp, file);
}
