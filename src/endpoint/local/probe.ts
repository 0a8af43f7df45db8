import {
  chmodSync,
  closeSync,
  lstatSync,
  openSync,
  statfsSync,
  symlinkSync,
  unlinkSync,
  utimesSync,
} from 'node:fs';
import { dirname, join } from 'node:path';
import { STATE_DIR } from '../../core/path.ts';
import { nodeCrypto } from '../../node-crypto.ts';
import type { Capabilities } from '../endpoint.ts';
import { setMtime } from './copy-file.ts';
import { TEMP_PREFIX } from './listing.ts';
import { lstatOrUndefined } from './stat.ts';

/**
 * What a root is assumed to do when it cannot be asked: a POSIX file system. utimes takes a
 * double of seconds, so an mtime we set survives to about a microsecond.
 */
export const POSIX_CAPABILITIES: Capabilities = {
  mtimePrecisionNs: 1000n,
  caseInsensitive: false,
  canSymlink: true,
  keepsModes: true,
};

/** An odd second and a fraction: FAT's 2 s steps, exFAT's 10 ms and whole seconds all show. */
const PROBE_MTIME_NS = 1_600_000_001_123_457_000n;
const PRECISION_STEPS_NS = [1000n, 10_000_000n, 1_000_000_000n, 2_000_000_000n];

/**
 * Asks the file system holding `root` what it keeps, with a scratch file: whether a name is
 * found under another case (exFAT, FAT, NTFS, APFS by default), how finely an mtime we set
 * survives, whether permission bits survive a chmod, and whether symlinks can be made. Mounted
 * USB drives are where all four differ from the disk the source lives on. Linux's own disk file
 * systems are known by their statfs type and not asked (see POSIX_FS_MAGIC). The scratch file goes
 * into `<root>/.concord/` when there is one, else into the root under a temporary name (which
 * listings skip and a later run clears), the root's times put back after; for a root not made
 * yet, into its parent. A place that cannot be written gets POSIX_CAPABILITIES.
 */
export function probeCapabilities(root: string): Capabilities {
  if (onPosixFileSystem(root)) return POSIX_CAPABILITIES;
  const state = join(root, STATE_DIR);
  if (lstatOrUndefined(state)?.isDirectory()) return probeIn(state);
  // A destination not made yet will be made in its parent, on the parent's file system.
  const at = lstatOrUndefined(root) ? root : dirname(root);
  const before = lstatOrUndefined(at);
  if (!before?.isDirectory()) return POSIX_CAPABILITIES;
  try {
    return probeIn(at);
  } finally {
    try {
      setMtime(at, before.mtimeNs);
    } catch {}
  }
}

/**
 * Linux's own disk file systems, by statfs magic: they keep case, modes, symlinks and
 * nanosecond mtimes, so asking them would only write a scratch file into a root that a dry run
 * or a run with nothing to do must leave untouched (S12). FUSE (exfat-fuse, ntfs-3g, sshfs),
 * vfat, exfat, ntfs and anything unknown are asked.
 */
const POSIX_FS_MAGIC = new Set([
  0xef53, // ext2, ext3, ext4 (a casefolded ext4 directory is not told apart here)
  0x58465342, // xfs
  0x9123683e, // btrfs
  0x01021994, // tmpfs
  0x2fc12fc1, // zfs
  0x794c7630, // overlayfs
  0xf2f52010, // f2fs
  0x6969, // nfs
]);

function onPosixFileSystem(root: string): boolean {
  if (process.platform !== 'linux') return false;
  for (let at = root; ; at = dirname(at)) {
    try {
      return POSIX_FS_MAGIC.has(Number(statfsSync(at).type));
    } catch {
      if (dirname(at) === at) return false;
    }
  }
}

function probeIn(dir: string): Capabilities {
  const name = `${TEMP_PREFIX}probe-${nodeCrypto().randomBytes(6).toString('hex')}`;
  const file = join(dir, name);
  const link = `${file}-link`;
  let fd: number;
  try {
    fd = openSync(file, 'wx', 0o600);
  } catch {
    return POSIX_CAPABILITIES;
  }
  try {
    closeSync(fd);
    // Nothing else makes names like ours in .concord/: the other case exists only as this file.
    // (Inode numbers cannot tell: FUSE file systems may number one file per name it was asked by.)
    const caseInsensitive = lstatOrUndefined(join(dir, name.toUpperCase())) !== undefined;
    return {
      caseInsensitive,
      mtimePrecisionNs: mtimePrecision(file),
      keepsModes: keepsModes(file),
      canSymlink: canSymlink(link),
    };
  } finally {
    tryRemove(file);
    tryRemove(link);
  }
}

function mtimePrecision(file: string): bigint {
  const seconds = Number(PROBE_MTIME_NS) / 1e9;
  try {
    utimesSync(file, seconds, seconds);
  } catch {
    return POSIX_CAPABILITIES.mtimePrecisionNs;
  }
  const kept = lstatSync(file, { bigint: true }).mtimeNs;
  const off = kept > PROBE_MTIME_NS ? kept - PROBE_MTIME_NS : PROBE_MTIME_NS - kept;
  // A precision is a step the file system rounds to: the error is at most one step (a double of
  // seconds alone loses up to a microsecond on the way in).
  for (const step of PRECISION_STEPS_NS) if (off <= step) return step;
  return PRECISION_STEPS_NS[PRECISION_STEPS_NS.length - 1] as bigint;
}

function keepsModes(file: string): boolean {
  try {
    chmodSync(file, 0o640);
    const after = Number(lstatSync(file, { bigint: true }).mode & 0o7777n);
    if (after !== 0o640) return false;
    chmodSync(file, 0o604);
    return Number(lstatSync(file, { bigint: true }).mode & 0o7777n) === 0o604;
  } catch {
    return false;
  }
}

function canSymlink(link: string): boolean {
  try {
    symlinkSync('probe', link);
    return true;
  } catch {
    return false;
  }
}

function tryRemove(path: string): void {
  try {
    unlinkSync(path);
  } catch {}
}
