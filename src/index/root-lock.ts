import { closeSync, constants, fstatSync, openSync, readFileSync } from 'node:fs';
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
  /** The holding process, when /proc names it. */
  by?: { pid: number; startedMs: number; command: string };
}

/**
 * Locks every directory of `dirs` that exists, or none: returns the release function, or the
 * holder of the first one another process holds.
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
  for (const { abs, path } of dirs) {
    let fd: number;
    try {
      fd = openSync(abs, constants.O_RDONLY | constants.O_DIRECTORY);
    } catch {
      continue; // not there yet (a new destination), or not readable: the run says why
    }
    const st = fstatSync(fd, { bigint: true });
    const key = `${st.dev}:${st.ino}`;
    const mine = held.get(key);
    if (mine) {
      closeSync(fd);
      mine.count++;
      taken.push(key);
      continue;
    }
    const errno = locker.flockNb(fd);
    if (errno === 0) {
      held.set(key, { fd, count: 1 });
      taken.push(key);
      continue;
    }
    closeSync(fd);
    if (errno === EWOULDBLOCK) {
      release();
      return { path, by: flockHolder(st.dev, st.ino) };
    }
    // ENOLCK, EOPNOTSUPP, EBADF (NFS wants a file open for writing): no flock here.
  }
  return release;
}

const EWOULDBLOCK = 11;

/**
 * Who holds a flock on the inode, from /proc/locks: "1: FLOCK  ADVISORY  WRITE 4242 08:01:1234
 * 0 EOF" (device as major:minor in hex). Nothing when it is not listed (another machine's
 * lock on a shared file system, another PID namespace) or /proc cannot be read.
 */
function flockHolder(dev: bigint, ino: bigint): DirHolder['by'] {
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
    // Blocked waiters are listed as "1: -> FLOCK ...".
    if (f[1] !== 'FLOCK' || f[3] !== 'WRITE' || f[5] !== want) continue;
    return processInfo(Number(f[4]));
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
