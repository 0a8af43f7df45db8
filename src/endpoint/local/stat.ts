import { type BigIntStats, constants, lstatSync, readlinkSync } from 'node:fs';
import type { Entry, Kind } from '../../core/entry.ts';

/**
 * Flags to open a file the scan saw, for reading its bytes. O_NONBLOCK: if it was replaced by
 * a FIFO since, the open returns at once (and the fstat that follows finds no regular file)
 * instead of waiting forever for a writer; on a regular file it changes nothing.
 */
export const OPEN_TO_READ = constants.O_RDONLY | constants.O_NONBLOCK;

export function kindOf(st: BigIntStats): Kind | undefined {
  if (st.isFile()) return 'file';
  if (st.isDirectory()) return 'dir';
  if (st.isSymbolicLink()) return 'symlink';
  return undefined;
}

/** An Entry from an lstat; undefined for special files (FIFOs, sockets, devices). */
export function entryOf(name: string, abs: string, st: BigIntStats): Entry | undefined {
  const kind = kindOf(st);
  if (kind === undefined) return undefined;
  const e: Entry = {
    name,
    kind,
    size: kind === 'file' ? Number(st.size) : 0,
    mtimeNs: st.mtimeNs,
    ctimeNs: st.ctimeNs,
    mode: kind === 'symlink' ? 0 : Number(st.mode & 0o7777n),
    ino: st.ino,
  };
  if (kind === 'symlink') e.target = readlinkSync(abs, 'utf8');
  return e;
}

export function lstatOrUndefined(abs: string): BigIntStats | undefined {
  return lstatSync(abs, { bigint: true, throwIfNoEntry: false });
}

/** Same file, unchanged since `expect` was taken: identity, size and times. */
export function unchangedFile(st: BigIntStats, expect: Entry): boolean {
  return (
    st.isFile() &&
    st.ino === expect.ino &&
    Number(st.size) === expect.size &&
    st.mtimeNs === expect.mtimeNs
  );
}
