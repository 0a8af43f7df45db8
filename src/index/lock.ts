import { hostname } from 'node:os';
import { dirname } from 'node:path';
import { ConcordError } from '../errors.ts';
import { type DirHolder, lockRootDirs } from './root-lock.ts';
import type { StateDb } from './state-db.ts';

export interface Holder {
  /** The root the lock is on, as the user named it. */
  path: string;
  pid: number;
  host: string;
  startedMs: number;
  command: string;
}

export interface LockOptions {
  command: string;
  /** How long to wait for a live holder before giving up (default 3000 ms). */
  waitMs?: number;
  pid?: number;
  host?: string;
  now?: () => number;
  /** Whether a process of this host is alive (default: signal 0). */
  isAlive?: (pid: number) => boolean;
}

export interface LockKey {
  key: string;
  /** The root as the user named it. */
  path: string;
  /** The root's directory, also locked with flock (root-lock.ts) when given. */
  dir?: string;
}

/**
 * Takes the run locks on `roots` (keyed by root id) in one transaction, so no two runs change the
 * same root at once (S18), then the flock on each root's directory, which runs with another
 * CONCORD_HOME see too. A lock whose holder is dead on this host is stale and taken over: a
 * killed run must not block every later one. A live holder is waited for briefly, then the run
 * stops with a message naming it. Returns the release function.
 */
export async function acquireLocks(
  db: StateDb,
  roots: readonly LockKey[],
  o: LockOptions,
): Promise<() => void> {
  const pid = o.pid ?? process.pid;
  const host = o.host ?? hostname();
  const now = o.now ?? Date.now;
  const isAlive = o.isAlive ?? processAlive;
  const deadline = now() + (o.waitMs ?? 3000);
  const select = db.prepare<
    [string],
    { pid: number; host: string; started_ms: number; command: string }
  >('SELECT pid, host, started_ms, command FROM locks WHERE key = ?');
  const insert = db.prepare(
    'INSERT OR REPLACE INTO locks (key, pid, host, started_ms, command) VALUES (?, ?, ?, ?, ?)',
  );
  const below = db.prepare<
    [string, string],
    { pid: number; host: string; started_ms: number; command: string }
  >('SELECT pid, host, started_ms, command FROM locks WHERE key > ? AND key < ?');
  /** Rows of this key, and for a path, of the roots above it and inside it. */
  const rowsOf = (key: string) => {
    if (!key.startsWith('path:')) return [select.get(key)];
    const abs = key.slice('path:'.length);
    const above = [];
    for (let at = dirname(abs); ; at = dirname(at)) {
      above.push(select.get(`path:${at}`));
      if (dirname(at) === at) break;
    }
    // Every key below `abs/` ('0' follows '/').
    const inside = abs.endsWith('/') ? abs.slice(0, -1) : abs;
    return [select.get(key), ...above, ...below.all(`path:${inside}/`, `path:${inside}0`)];
  };
  const take = db.transaction((): Holder | undefined => {
    for (const { key, path } of roots) {
      // A root inside another run's root, or around it, is changed by both runs.
      for (const r of rowsOf(key)) {
        if (!r || (r.pid === pid && r.host === host)) continue;
        const stale = r.host === host && !isAlive(r.pid);
        if (!stale)
          return { path, pid: r.pid, host: r.host, startedMs: r.started_ms, command: r.command };
      }
    }
    for (const { key } of roots) insert.run(key, pid, host, now(), o.command);
    return undefined;
  });
  const del = db.prepare('DELETE FROM locks WHERE key = ? AND pid = ? AND host = ?');
  const releaseRows = db.transaction(() => {
    for (const { key } of roots) del.run(key, pid, host);
  });
  const dirs = roots.flatMap(({ dir, path }) => (dir === undefined ? [] : [{ abs: dir, path }]));
  for (;;) {
    const holder = take.immediate();
    if (!holder) {
      const dirLock = lockRootDirs(dirs);
      if (typeof dirLock === 'function')
        return () => {
          dirLock();
          releaseRows();
        };
      releaseRows();
      if (now() >= deadline) throw dirLockedError(dirLock);
    } else if (now() >= deadline) throw lockedError(holder);
    // Not node:timers/promises: ~1.5 ms to load, in every run.
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

function lockedError(h: Holder): ConcordError {
  return new ConcordError('locked', `another Concord run is using this root: ${holderText(h)}`, {
    path: h.path,
    hint: `wait for it to finish, or stop it (kill ${h.pid}); a dead holder's lock is taken over`,
  });
}

function holderText(h: Omit<Holder, 'path'>): string {
  const started = new Date(h.startedMs).toISOString().replace(/\.\d+Z$/, 'Z');
  return `pid ${h.pid} on ${h.host}, started ${started} (${h.command})`;
}

/**
 * The flock on a root this run has just made (it could not be locked before it existed);
 * throws when another run, from another state directory, took it in between. Returns the
 * release function.
 */
export function lockMadeRoot(abs: string, shown: string): () => void {
  const lock = lockRootDirs([{ abs, path: shown }]);
  if (typeof lock !== 'function') throw dirLockedError(lock);
  return lock;
}

/**
 * The flock is seen by any process on the host, not only Concord runs (`flock -x ROOT ...`):
 * the holder is named as /proc shows it, and the kernel drops its lock when it ends.
 */
function dirLockedError(h: DirHolder): ConcordError {
  const who = h.by ? `: ${holderText({ ...h.by, host: hostname() })}` : '';
  const what =
    h.where === 'here'
      ? "this root's run lock"
      : h.where === 'inside'
        ? 'a run lock on a folder inside this root'
        : `the run lock of ${h.where.around}, which contains this root`;
  return new ConcordError(
    'locked',
    `another process holds ${what} (flock), as a Concord run with another CONCORD_HOME does${who}`,
    {
      path: h.path,
      hint: h.by
        ? `wait for it to finish, or stop it (kill ${h.by.pid})`
        : 'wait for it to finish, or stop it',
    },
  );
}

export function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    // EPERM: it exists, owned by someone else.
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * The lock keys of a root: its resolved path (with the flock on its directory) and its id. The
 * same root reached by another path (a bind mount, a renamed drive) still has its id and its
 * directory; a root without an id has its path.
 */
export function rootLockKeys(abs: string, rootId: string | undefined, shown: string): LockKey[] {
  const keys: LockKey[] = [{ key: `path:${abs}`, path: shown, dir: abs }];
  if (rootId !== undefined) keys.push({ key: `id:${rootId}`, path: shown });
  return keys;
}
