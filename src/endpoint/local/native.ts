import { createRequire } from 'node:module';
import { getSystemErrorMap } from 'node:util';
import { PACKAGE_ROOT } from '../../package-root.ts';

/**
 * What native/list_dir.c returns for one directory: an errno (the directory could not be
 * opened or read), null (a name is not valid UTF-8: list it in JavaScript, which reports it),
 * or [names joined by '\0', packed words, symlink targets, leftovers joined by '\0', special
 * files joined by '\0', [name, errno, ...] of entries that could not be stat-ed, the listing's
 * digest (PackedEntries.digest)].
 */
export type NativeListing =
  | number
  | null
  | [string, Int32Array, string[], string, string, (string | number)[], string];

export interface NativeLister {
  list(absDir: string, skip: string, tempPrefix: string): NativeListing;
  /**
   * The listings of `absDirs`, each followed by the directories below it (depth-first, byte
   * order) while the call holds fewer than `budget`, made on a thread of libuv's pool; `done`
   * runs on the main thread with every listing and the directory it lists.
   */
  listAsync(
    absDirs: string[],
    skip: string,
    tempPrefix: string,
    budget: number,
    done: (err: unknown, result: [listings: NativeListing[], paths: string[]]) => void,
  ): void;
}

export interface NativeCopier {
  /**
   * Copies `nums.length / 8` files one after another on a thread of libuv's pool
   * (native/copy_small.c). `paths`: each job's source, temporary name and target, each ended
   * by '\0'; `nums`: per job its inode, size and mtime (seconds, nanoseconds: putTime) as the
   * scan saw them, the mode and mtime (seconds, nanoseconds) to give, flags (1: fsync, 2: hash
   * what is copied). `out` (8 per job) holds the results when `done` runs: code (0 copied),
   * then the bytes copied or the errno, the call (NATIVE_CALLS) and which path (0 source, 1
   * temporary, 2 target), then the XXH3-128 of the bytes (when asked) as four 32-bit words,
   * most significant first.
   */
  copyAsync(
    paths: string,
    nums: BigInt64Array,
    out: Float64Array,
    done: (err: unknown) => void,
  ): void;
}

export interface NativeHasher {
  /**
   * The XXH3-128 (hex) of the file at `absPath` (native/hash_file.c), which must still be the
   * regular file `expect` describes (inode, size, mtime and ctime as seconds and nanoseconds:
   * putTime) once read, or [code, errno, call]: 1 another file or kind is there, 2 its size or
   * times moved, 4 a call (NATIVE_CALLS) failed. Synchronous.
   */
  hashFile(absPath: string, expect: BigInt64Array): string | [number, number, number];
  /**
   * hashFile for `expect.length / 6` files one after another on a thread of libuv's pool.
   * `paths`: each file's absolute path ended by '\0'; `expect`: hashFile's six numbers per
   * file.
   * `out` (7 per file) holds the results when `done` runs: code (0 hashed, else as hashFile's),
   * errno, call, then the digest as four 32-bit words, most significant first.
   */
  hashAsync(
    paths: string,
    expect: BigInt64Array,
    out: Float64Array,
    done: (err: unknown) => void,
  ): void;
  /** The XXH3-128 (hex) of bytes in memory. */
  hashBytes(bytes: Uint8Array): string;
}

export interface NativeLocker {
  /**
   * flock(fd, LOCK_EX or LOCK_SH, | LOCK_NB) (native/flock.c): 0 when the open file now holds
   * the lock, else the errno (EWOULDBLOCK: another open file holds a conflicting one).
   */
  flockNb(fd: number, shared: boolean): number;
}

export interface NativeSparseCopier {
  /**
   * Copies the file at `src` into `dst`, a new file (mode 0600) it creates, leaving holes where
   * `src` has them (native/copy_sparse.c): 0, or [errno, call, 0 when src failed, 1 for dst].
   * Synchronous.
   */
  copySparse(src: string, dst: string): 0 | [number, string, number];
}

export interface NativeMalloc {
  /** mallopt(M_TOP_PAD, bytes) (native/malloc_pad.c): whether glibc took it. */
  mallocTopPad(bytes: number): boolean;
}

export interface NativeTimes {
  /**
   * utimensat (native/set_times.c): the mtime to the nanosecond (seconds, nanoseconds), the
   * atime now; the link itself unless `follow`. 0, or the errno.
   */
  setTimes(absPath: string, seconds: bigint, nanoseconds: number, follow: boolean): number;
}

export interface NativeRename {
  /**
   * renameat2 with RENAME_NOREPLACE (native/rename.c): 0, or the errno (EEXIST: something is at
   * `to`; EINVAL, ENOSYS or EOPNOTSUPP: the file system cannot).
   */
  renameNoReplace(fromAbsPath: string, toAbsPath: string): number;
}

/** The calls of native/copy_small.c and hash_file.c, by the index their results give. */
export const NATIVE_CALLS = [
  'open',
  'fstat',
  'read',
  'write',
  'fchmod',
  'futime',
  'fsync',
  'close',
  'rename',
  'lstat',
  'malloc',
] as const;

/** What the addon may hold (an older build holds less: each accessor checks its calls). */
type Addon = Partial<
  NativeLister &
    NativeCopier &
    NativeHasher &
    NativeLocker &
    NativeSparseCopier &
    NativeMalloc &
    NativeTimes &
    NativeRename
>;

let loaded: Addon | null | undefined;
/** The addon as the flock takes it, under CONCORD_NATIVE=0 too (nativeLocker). */
let forLocks: Addon | null | undefined;

/**
 * The native lister (built by `npm install` through node-gyp; see binding.gyp), or undefined
 * where it was not built, on a platform it is not written for, or when CONCORD_NATIVE=0 asks
 * for the JavaScript listing. The JavaScript listing is complete on its own; the native one
 * lists the same (a test compares them) in about half the time: it stats each entry relative
 * to the open directory, and builds no object per entry.
 */
export function nativeLister(): NativeLister | undefined {
  return part<NativeLister>(nativeAddon(), 'list', 'listAsync');
}

/** The same addon's small-file copy, under the same conditions as nativeLister. */
export function nativeCopier(): NativeCopier | undefined {
  return part<NativeCopier>(nativeAddon(), 'copyAsync');
}

/** The same addon's file hash, under the same conditions as nativeLister. */
export function nativeHasher(): NativeHasher | undefined {
  return part<NativeHasher>(nativeAddon(), 'hashFile', 'hashBytes', 'hashAsync');
}

/**
 * The same addon's flock, also under CONCORD_NATIVE=0: that asks for the JavaScript listing and
 * copies, and a run lock that other runs see must not go with them.
 */
export function nativeLocker(): NativeLocker | undefined {
  if (forLocks === undefined)
    forLocks = nativeAddon() ?? (process.platform === 'linux' ? requireAddon() : null);
  return part<NativeLocker>(forLocks ?? undefined, 'flockNb');
}

/** The same addon's sparse copy, under the same conditions as nativeLister. */
export function nativeSparseCopier(): NativeSparseCopier | undefined {
  return part<NativeSparseCopier>(nativeAddon(), 'copySparse');
}

/** The same addon's malloc tuning, under the same conditions as nativeLister. */
export function nativeMalloc(): NativeMalloc | undefined {
  return part<NativeMalloc>(nativeAddon(), 'mallocTopPad');
}

/** The same addon's utimensat, under the same conditions as nativeLister. */
export function nativeTimes(): NativeTimes | undefined {
  return part<NativeTimes>(nativeAddon(), 'setTimes');
}

/** The same addon's renameat2(RENAME_NOREPLACE), under the same conditions as nativeLister. */
export function nativeRename(): NativeRename | undefined {
  return part<NativeRename>(nativeAddon(), 'renameNoReplace');
}

/**
 * The addon as `T` when it holds the calls `a`, `b` and `c` (an older build holds fewer). Named
 * parameters, not a rest array or a closure: this is asked once per file hashed or copied.
 */
function part<T>(
  addon: Addon | undefined,
  a: keyof Addon,
  b: keyof Addon = a,
  c: keyof Addon = a,
): T | undefined {
  return typeof addon?.[a] === 'function' &&
    typeof addon[b] === 'function' &&
    typeof addon[c] === 'function'
    ? (addon as T)
    : undefined;
}

function nativeAddon() {
  if (loaded === undefined) loaded = load();
  return loaded ?? undefined;
}

function load() {
  if (process.platform !== 'linux' || process.env.CONCORD_NATIVE === '0') return null;
  return requireAddon();
}

function requireAddon(): Addon | null {
  try {
    return createRequire(import.meta.url)(
      new URL('build/Release/concord_native.node', PACKAGE_ROOT).pathname,
    ) as Addon;
  } catch {
    return null;
  }
}

/** The error Node's own fs call would have thrown for `errno` (code, message, syscall, path). */
export function systemError(errno: number, syscall: string, path: string): NodeJS.ErrnoException {
  const [code, description] = getSystemErrorMap().get(-errno) ?? [`E${errno}`, 'unknown error'];
  const err: NodeJS.ErrnoException = new Error(`${code}: ${description}, ${syscall} '${path}'`);
  err.code = code;
  err.errno = -errno;
  err.syscall = syscall;
  err.path = path;
  return err;
}
