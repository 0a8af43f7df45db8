/** A file's identity within its device and its change stamp, as a listing gives them. */
export interface Stamp {
  size: number;
  mtimeNs: bigint;
  ctimeNs: bigint;
  ino: bigint;
}

/** A file as the scan sees it now. */
export interface Seen extends Stamp {
  dev: bigint;
}

/** What the index remembers of a file when it last hashed it. */
export interface Known {
  /** statKey of the file when it was last seen. */
  stat: string;
  hash?: string | undefined;
  /** Wall-clock time (ns since the epoch) at which the hashed bytes were read. */
  hashedNs?: bigint | undefined;
}

/**
 * The identity and change stamp of a file, as one string: device, inode, size, mtime, ctime.
 * The index stores the same string (built by SQL from its columns), so a row is checked with
 * one string comparison instead of five 64-bit ones.
 */
export function statKey(s: Seen): string {
  return stampKey(s, s.dev);
}

/**
 * statKey of an entry listed under the root's `dev`. Scans call this once per file: building a
 * Seen ({ ...entry, dev }) for it was a good part of the ~600 MB a first --checksum run of
 * 50,000 files allocated.
 */
export function stampKey(s: Stamp, dev: bigint): string {
  return `${dev}:${s.ino}:${s.size}:${s.mtimeNs}:${s.ctimeNs}`;
}

/**
 * Coarsest timestamp step we expect of a file system (FAT: 2 s; ext2/3, HFS+, many network
 * file systems: 1 s). Modern Linux file systems are finer; being coarse here only costs a
 * re-hash of files written in the last two seconds before a scan.
 */
export const TIMESTAMP_GRANULARITY_NS = 2_000_000_000n;

/**
 * The remembered hash of a file, when it may stand for the file's content now; undefined
 * means "read the file".
 *
 * Why a stat match and not "modified since the last sync": mtimes can be preserved, restored or
 * moved backwards by tools (tar, cp -p, rsync -t, a user's touch -d), so an mtime alone proves
 * nothing (S1). ctime cannot be set by any user-level call: every write, chmod, rename or utimes
 * moves it to the present. So (dev, inode, size, mtime, ctime) all unchanged means nobody
 * touched the file since we read it, except in the one window isRacy covers. A rename changes
 * the moved file's ctime, so a renamed file is read again; files under a renamed directory
 * keep their ctime and, found by inode, keep their hash.
 */
export function reusableHash(
  known: Known | undefined,
  now: Stamp,
  nowKey: string,
  granularityNs: bigint = TIMESTAMP_GRANULARITY_NS,
): string | undefined {
  if (known?.hash === undefined || known.hashedNs === undefined) return undefined;
  if (known.stat !== nowKey) return undefined;
  // Equal keys: the row's mtime and ctime are the file's now.
  if (isRacy(now, known.hashedNs, granularityNs)) return undefined;
  return known.hash;
}

/**
 * Racily clean (git's term): the file was read within one timestamp step of its last change,
 * so a write in that same step, after our read, changes the bytes without changing size, mtime
 * or ctime. Unison 2.52 misses exactly such a same-size edit made within a second of a sync. A
 * racy entry's hash is never trusted; the next scan reads the file again, and once it is read
 * after the step has passed, the hash holds.
 */
export function isRacy(
  t: { mtimeNs: bigint; ctimeNs: bigint },
  hashedNs: bigint | undefined,
  granularityNs: bigint = TIMESTAMP_GRANULARITY_NS,
): boolean {
  if (hashedNs === undefined) return true;
  const changed = t.mtimeNs > t.ctimeNs ? t.mtimeNs : t.ctimeNs;
  return hashedNs < changed + granularityNs;
}

/**
 * Whether a listed entry may not be vouched for by its stat words yet (two-way digests): it
 * was modified within one timestamp step of `nowNs`, so another same-size write within that
 * step could leave every stat word as it is. Decided by the mtime: a file a sync copied has a
 * new ctime but its source's old mtime, and a later edit moves its mtime to now, which differs,
 * unless that edit also puts an old mtime back within one timestamp step of our write (ext4,
 * xfs, btrfs and tmpfs keep nanoseconds, where the ctime tells even then). Counting the ctime
 * as well kept every directory a run wrote into off the fast path for the next run.
 */
export function isRacyListed(
  e: { mtimeNs: bigint },
  nowNs: bigint,
  granularityNs: bigint = TIMESTAMP_GRANULARITY_NS,
): boolean {
  return e.mtimeNs > nowNs - granularityNs;
}
