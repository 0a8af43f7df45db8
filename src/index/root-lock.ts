import { closeSync, constants, fstatSync, openSync, readFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { nativeLocker } from '../endpoint/local/native.ts';

/**
 * Run locks on the roots' directories themselves (flock), which every Concord process on this
 * host sees whatever its CONCORD_HOME. The state database's locks (lock.ts) are per home: root's
 * cron job and a user's run on the same tree, or two users sharing a tree, have one home each,
 * and both ran at once (S18). Nothing is written into a root for it (a no-op run leaves a root
 * as it found it, a read-only source stays read-only), and the kernel drops the lock when its
 * process dies, so a killed run leaves no stale lock behind.
 *
 * Where flock is missing (no native addon) or refused (some network file systems), a root is
 * locked through the state database only, as before.
 */

/** The directories this process holds, by device and inode: a run inside a run is let in. */
const held = new Map<string, { fd: number; count: number }>();

export interface DirHolder {
  /** The root as the user named it. */
  path: string;
  /**
   * Where the other process's lock is: on this root, on a folder around it (its path), or on
   * one inside it (a shared lock on this root's directory).
   */
  where: 'here' | 'inside' | { around: string };
  /** The holding process, when /proc names it. */
  by?: { pid: number; startedMs: number; command: string };
}

/**
 * Locks every directory of `dirs` that exists, or none: returns the release function, or the
 * holder of the first one another process holds.
 *
 * A root's directory is locked exclusive, and every folder above it shared (those it can open):
 * a run on /x and a run on /x/sub, each with its own state directory, change the same files,
 * and the exclusive lock of one conflicts with the shared lock of the other, whichever came
 * first, while runs on /x/a and /x/b share /x. A destination not made yet has its folders above
 * locked all the same, so no run around it starts meanwhile.
 */
export function lockRootDirs(
  dirs: readonly { abs: string; path: string }[],
): (() => void) | DirHolder {
  const locker = nativeLocker();
  const taken: string[] = [];
  const release = () => {
    for (const key of taken.splice(0)) {
      const h = held.get(key);
      if (h && --h.count === 0) {
        held.delete(key);
        closeSync(h.fd);
      }
    }
  };
  if (!locker) return release;
  const lock = (abs: string, shared: boolean): Found | 'busy' | undefined => {
    let fd: number;
    try {
      fd = openSync(abs, constants.O_RDONLY | constants.O_DIRECTORY);
    } catch {
      return undefined; // not there yet (a new destination), or not readable: the run says why
    }
    const st = fstatSync(fd, { bigint: true });
    const key = `${st.dev}:${st.ino}`;
    const mine = held.get(key);
    if (mine) {
      // Held by this process already, exclusive or shared: a run inside a run of this process,
      // which the state database lets in as well.
      closeSync(fd);
      mine.count++;
      taken.push(key);
      return undefined;
    }
    const errno = locker.flockNb(fd, shared);
    if (errno === 0) {
      held.set(key, { fd, count: 1 });
      taken.push(key);
      return undefined;
    }
    closeSync(fd);
    // ENOLCK, EOPNOTSUPP, EBADF (NFS wants a file open for writing): no flock here.
    if (errno !== EWOULDBLOCK) return undefined;
    return flockHolder(st.dev, st.ino, shared) ?? 'busy';
  };
  const holder = (path: string, where: DirHolder['where'], found: Found | 'busy'): DirHolder => {
    release();
    if (found === 'busy') return { path, where };
    const { shared: _, ...by } = found;
    return { path, where, by };
  };
  for (const { abs, path } of dirs) {
    const here = lock(abs, false);
    if (here) return holder(path, here !== 'busy' && here.shared ? 'inside' : 'here', here);
    for (let at = dirname(abs); ; at = dirname(at)) {
      const around = lock(at, true);
      if (around) return holder(path, { around: at }, around);
      if (dirname(at) === at) break;
    }
  }
  return release;
}

const EWOULDBLOCK = 11;

/** A holder /proc names, and whether its lock is shared. */
type Found = NonNullable<DirHolder['by']> & { shared: boolean };

/**
 * Who holds a flock on the inode that conflicts with the one wanted, from /proc/locks: "1: FLOCK
 * ADVISORY  WRITE 4242 08:01:1234 0 EOF" (device as major:minor in hex); `shared` tells whether
 * that is a shared one (READ). Nothing when it is not listed (another machine's lock on a shared
 * file system, another PID namespace) or /proc cannot be read.
 */
function flockHolder(dev: bigint, ino: bigint, wantShared: boolean): Found | undefined {
  let locks: string;
  try {
    locks = readFileSync('/proc/locks', 'utf8');
  } catch {
    return undefined;
  }
  const major = ((dev >> 8n) & 0xfffn) | ((dev >> 32n) & ~0xfffn);
  const minor = (dev & 0xffn) | ((dev >> 12n) & ~0xffn);
  const want = `${hex(major)}:${hex(minor)}:${ino}`;
  for (const line of locks.split('\n')) {
    const f = line.trim().split(/\s+/);
    // Blocked waiters are listed as "1: -> FLOCK ..."; a shared lock wanted meets only
    // exclusive ones.
    if (f[1] !== 'FLOCK' || f[5] !== want) continue;
    if (f[3] !== 'WRITE' && (wantShared || f[3] !== 'READ')) continue;
    const by = processInfo(Number(f[4]));
    return by && { ...by, shared: f[3] === 'READ' };
  }
  return undefined;
}

const hex = (n: bigint) => n.toString(16).padStart(2, '0');

/** When `pid` started and its command line, from /proc; nothing when it cannot be read. */
function processInfo(pid: number): DirHolder['by'] {
  try {
    // Field 22, after the command name in parentheses (which may hold spaces), is the start
    // in clock ticks since boot; Linux's USER_HZ is 100.
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const ticks = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19]);
    const btime = Number(/^btime (\d+)$/m.exec(readFileSync('/proc/stat', 'utf8'))?.[1]);
    const args = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').filter(Boolean);
    if (!Number.isFinite(ticks) || !Number.isFinite(btime)) return undefined;
    return { pid, startedMs: btime * 1000 + ticks * 10, command: args.join(' ') };
  } catch {
    return undefined;
  }
}
