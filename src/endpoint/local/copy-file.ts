import {
  type BigIntStats,
  chmodSync,
  closeSync,
  constants,
  copyFileSync,
  fchmodSync,
  fstatSync,
  fsyncSync,
  linkSync,
  lutimesSync,
  mkdirSync,
  openSync,
  readSync,
  renameSync,
  statSync,
  symlinkSync,
  utimesSync,
  writeSync,
} from 'node:fs';
import { basename, dirname, join } from 'node:path';
import type { Entry } from '../../core/entry.ts';
import { numberedName } from '../../core/path.ts';
import type { Precondition } from '../../core/plan.ts';
import { nodeCrypto } from '../../node-crypto.ts';
import { ChangedDuringSync } from '../endpoint.ts';
import { TEMP_PREFIX, tryUnlink } from './listing.ts';
import { nativeSparseCopier, nativeTimes, systemError } from './native.ts';
import { splitTime } from './native-batch.ts';
import { checkPrecondition } from './precondition.ts';
import { lstatOrUndefined, OPEN_TO_READ, unchangedFile } from './stat.ts';

/** A copy's source is not what the scan saw, before the copy began or while it ran (S16). */
export function sourceChanged(shown: string, when: 'before' | 'while'): ChangedDuringSync {
  return new ChangedDuringSync('source', `${shown} changed on the source ${when} it was copied`);
}

/** Files up to this size are copied through one reused buffer; larger ones by copyFile. */
export const SMALL_FILE = 1 << 20;
let buffer: Buffer | undefined;

/** Everything a local-to-local file copy needs; plain data so it can cross to a worker. */
export interface CopyJob {
  src: string;
  expect: Entry;
  dst: string;
  /** The RelPath, for messages. */
  shown: string;
  mode: number;
  mtimeNs: bigint;
  pre: Precondition;
  /** Where the replaced version goes; none: replaced for good. */
  trashPath: string | undefined;
  fsync: boolean;
  /** Hash the bytes on their way (files copied through memory), for the caller to keep. */
  hash?: boolean;
}

/** XXH3-128 (hex) of bytes in memory. */
export type BytesHasher = (bytes: Uint8Array) => string;

/** What a copy did: the bytes written, and their xxh3-128 hash when it was asked for and taken. */
export interface Copied {
  bytes: number;
  hash?: string;
}

/**
 * Copies a file atomically (S14): into a temporary name beside the target, mode and mtime set,
 * the source re-checked (a file changed while copied is not committed, S16), the target's
 * precondition re-checked, the old version hard-linked into the trash, then one rename.
 * Synchronous: it runs in a worker of the pool. With `hashOf` and `job.hash`, a file copied
 * through memory is hashed there (a large file, copied by the kernel, is not).
 */
export function copyFileAtomic(job: CopyJob, hashOf?: BytesHasher): Copied {
  const tmp = tempName(job.dst);
  try {
    let bytes: number;
    let hash: string | undefined;
    if (job.expect.size > SMALL_FILE) {
      bytes = copyLarge(job, tmp);
    } else {
      const out = openSync(tmp, 'wx', 0o600);
      try {
        bytes = copySmall(job, out);
        // The buffer holds the bytes just written, read while the source stayed unchanged.
        if (job.hash && hashOf) hash = hashOf((buffer as Buffer).subarray(0, bytes));
        fchmodSync(out, job.mode);
        setMtime(tmp, job.mtimeNs);
        if (job.fsync) fsyncSync(out);
      } finally {
        closeSync(out);
      }
    }
    commit(tmp, job.dst, job.pre, job.shown, job.trashPath);
    return hash === undefined ? { bytes } : { bytes, hash };
  } catch (err) {
    tryUnlink(tmp);
    throw err;
  }
}

/** Writes a file from a stream of chunks (a remote or generic source), atomically. */
export async function writeFileAtomic(
  dst: string,
  data: AsyncIterable<Uint8Array>,
  meta: { mode: number; mtimeNs: bigint },
  pre: Precondition,
  shown: string,
  trashPath: string | undefined,
  fsync: boolean,
): Promise<number> {
  const tmp = tempName(dst);
  try {
    const out = openSync(tmp, 'wx', 0o600);
    let total = 0;
    try {
      for await (const chunk of data) {
        writeAll(out, chunk, chunk.length);
        total += chunk.length;
      }
      fchmodSync(out, meta.mode);
      setMtime(tmp, meta.mtimeNs);
      if (fsync) fsyncSync(out);
    } finally {
      closeSync(out);
    }
    commit(tmp, dst, pre, shown, trashPath);
    return total;
  } catch (err) {
    tryUnlink(tmp);
    throw err;
  }
}

/** Creates or replaces a symlink atomically. */
export function symlinkAtomic(
  dst: string,
  target: string,
  mtimeNs: bigint,
  pre: Precondition,
  shown: string,
  trashPath: string | undefined,
): void {
  const tmp = tempName(dst);
  try {
    symlinkSync(target, tmp);
    setMtime(tmp, mtimeNs, false);
    commit(tmp, dst, pre, shown, trashPath);
  } catch (err) {
    tryUnlink(tmp);
    throw err;
  }
}

function commit(
  tmp: string,
  dst: string,
  pre: Precondition,
  shown: string,
  trashPath: string | undefined,
): void {
  checkPrecondition(dst, pre, shown);
  if (pre.type === 'same' && trashPath) keepOldVersion(dst, trashPath);
  renameSync(tmp, dst);
}

/**
 * Before an overwrite: a hard link in the trash keeps the old version, and the rename stays
 * atomic. A name already taken in this run's trash (the same path overwritten twice) gets the
 * next `~N`, as removals do: a kept version is never replaced, and the write never fails for it.
 */
export function keepOldVersion(abs: string, dest: string): string {
  mkdirSync(dirname(dest), { recursive: true });
  for (let n = 1; ; n++) {
    const name = n === 1 ? dest : numberedName(dest, n);
    try {
      linkSync(abs, name);
      return name;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'EEXIST') continue;
    }
    // No hard links on this file system: a copy, with the version's mtime.
    try {
      copyFileSync(abs, name, constants.COPYFILE_EXCL);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'EEXIST') continue;
      throw err;
    }
    setMtime(name, statSync(abs, { bigint: true }).mtimeNs);
    return name;
  }
}

function copySmall(job: CopyJob, out: number): number {
  buffer ??= Buffer.allocUnsafe(SMALL_FILE);
  const fd = openSync(job.src, OPEN_TO_READ);
  try {
    const before = fstatSync(fd, { bigint: true });
    if (!unchangedFile(before, job.expect)) throw sourceChanged(job.shown, 'before');
    // One read of the size the scan saw: a file that grew or shrank since is caught by the
    // fstat below (its size or mtime moved), so no read-until-EOF is needed.
    const total = readSync(fd, buffer, 0, job.expect.size, 0);
    writeAll(out, buffer, total);
    const after = fstatSync(fd, { bigint: true });
    if (
      after.size !== before.size ||
      after.mtimeNs !== before.mtimeNs ||
      after.ctimeNs !== before.ctimeNs
    ) {
      throw sourceChanged(job.shown, 'while');
    }
    return total;
  } finally {
    closeSync(fd);
  }
}

function copyLarge(job: CopyJob, tmp: string): number {
  const before = lstatOrUndefined(job.src);
  if (!before || !unchangedFile(before, job.expect)) {
    throw sourceChanged(job.shown, 'before');
  }
  copyWhole(job.src, tmp, before);
  const after = lstatOrUndefined(job.src);
  if (
    !after ||
    after.size !== before.size ||
    after.mtimeNs !== before.mtimeNs ||
    after.ctimeNs !== before.ctimeNs
  ) {
    throw sourceChanged(job.shown, 'while');
  }
  chmodSync(tmp, job.mode);
  setMtime(tmp, job.mtimeNs);
  if (job.fsync) {
    const fd = openSync(tmp, 'r');
    try {
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
  }
  return Number(after.size);
}

/**
 * A reflink where the file system offers one (btrfs, XFS), else copy_file_range in the kernel.
 * A sparse source (fewer blocks than its size needs) keeps its holes: libuv's copy would write
 * them out as zeros, and a disk image of 100 GiB holding 5 GiB would take 100 GiB on B (cp
 * keeps holes too; rsync only with -S).
 */
function copyWhole(src: string, tmp: string, st: BigIntStats): void {
  const sparse = nativeSparseCopier();
  if (!sparse || st.blocks * 512n >= st.size) {
    copyFileSync(src, tmp, constants.COPYFILE_EXCL | constants.COPYFILE_FICLONE);
    return;
  }
  const r = sparse.copySparse(src, tmp);
  if (r !== 0) throw systemError(r[0], r[1], r[2] === 0 ? src : tmp);
}

function writeAll(fd: number, buf: Uint8Array, n: number): void {
  let off = 0;
  while (off < n) off += writeSync(fd, buf, off, n - off);
}

// One random tag per thread and a counter: randomBytes per file cost 4 us (a getrandom call).
// Made at the first copy: a run that copies nothing does not load node:crypto.
let tag: string | undefined;
let counter = 0;

export function tempName(abs: string): string {
  // Keep the name under NAME_MAX (255 bytes) whatever the original's length.
  const base = Buffer.from(basename(abs))
    .subarray(0, 180)
    .toString('utf8')
    .replace(/\uFFFD+$/, '');
  tag ??= nodeCrypto().randomBytes(4).toString('hex');
  return join(dirname(abs), `${TEMP_PREFIX}${tag}${(counter++).toString(36)}-${base}`);
}

/**
 * Gives `abs` the mtime `ns` (and now as its atime): to the nanosecond through the addon's
 * utimensat where it is built, else through Node's utimes, which keeps ~1 us (~2 us by the year
 * 2400: a copy stamped 2400 was then "changed" on every run). `follow: false` sets a symlink's
 * own times; `native: false` takes Node's way (tests of the paths without the addon).
 */
export function setMtime(abs: string, ns: bigint, follow = true, native = true): void {
  const times = native ? nativeTimes() : undefined;
  if (times) {
    const [seconds, nanos] = splitTime(ns);
    const errno = times.setTimes(abs, seconds, nanos, follow);
    if (errno !== 0) throw systemError(errno, 'utimensat', abs);
  } else if (follow) utimesSync(abs, nowSeconds(), toSeconds(ns));
  else lutimesSync(abs, nowSeconds(), toSeconds(ns));
}

/**
 * The time to hand to utimes for an mtime in ns. libuv truncates the double it is given to
 * whole microseconds (toward zero), and a double near 1.8e9 s is exact only to about 0.24 us:
 * aiming half a microsecond past the target, away from zero, makes the truncation land on it,
 * so a copy's mtime is off by less than 1 us (the ns digits are lost). It is a string because
 * Node replaces a negative number (a time before 1970) with "now"; a numeric string passes.
 */
export function toSeconds(ns: bigint): string {
  const us = ns / 1000n;
  return String(Number(us) / 1e6 + (us >= 0n ? 5e-7 : -5e-7));
}

export function nowSeconds(): number {
  return Date.now() / 1000;
}
