import {
  closeSync,
  constants,
  fstatSync,
  lstatSync,
  openSync,
  readSync,
  realpathSync,
} from 'node:fs';
import { isAbsolute, join, relative } from 'node:path';
import {
  type Filter,
  type FilterRule,
  type FilterSpec,
  folderRule,
  IGNORE_FILE,
  makeFilter,
} from './core/filter.ts';
import { OPEN_TO_READ } from './endpoint/local/stat.ts';
import type { LocalRoots } from './engine/roots.ts';
import { ConcordError, errText } from './errors.ts';
import { FileIndex } from './index/file-index.ts';
import { concordHome } from './index/home.ts';
import { locationOf, readRootId } from './index/location.ts';
import { acquireLocks, lockMadeRoot, rootLockKeys } from './index/lock.ts';
import { openStateDb, type StateDb } from './index/state-db.ts';
import type { HashCache } from './scan/hash-cache.ts';

export interface RunStateOptions {
  /** The command, as the holder of the roots' locks is shown to another run (`mirror A B`). */
  command: string;
  dryRun: boolean;
  checksum: boolean;
  home?: string | undefined;
  now?: (() => number) | undefined;
  lockWaitMs?: number | undefined;
}

export interface RunState {
  caches: { src?: HashCache; dst?: HashCache };
  /**
   * When the last one-way run between these roots that left no file behind started, less
   * RACY_MARGIN_MS, in ns since the epoch: OneWayOptions.racySinceNs. Undefined when none is
   * known.
   */
  racySinceNs: bigint | undefined;
  /** Remembers `startedMs` as the start of a run between these roots that left no file behind. */
  recordCleanRun(startedMs: number): void;
  /** Takes the flock on B once the run has made it (OneWayOptions.onRootMade). */
  lockMadeDst(): void;
  /** Releases the locks and closes the database. */
  close(): void;
}

/**
 * A file's ctime comes from the kernel's coarse clock, which may trail the wall clock the run
 * start is read from by a tick: a change made just after a run started must still count as
 * after it.
 */
const RACY_MARGIN_MS = 1000;

/**
 * What a sync run keeps in the state store: the roots' ids, the run locks on both roots
 * (S18), and with --checksum the file indexes whose hashes the scan reuses.
 */
export async function openRunState(
  roots: LocalRoots,
  a: string,
  b: string,
  o: RunStateOptions,
): Promise<RunState> {
  const now = o.now ?? Date.now;
  const db = openStateDb(o.home ?? concordHome());
  let release: (() => void) | undefined;
  try {
    // A one-way run writes no marker: it never writes into its source, and a refused or
    // no-op run leaves the destination as it found it. A root's id is its marker when
    // `concord index` (or a two-way run) made one, else its path.
    const srcId = readRootId(roots.src);
    const dstId = roots.dstExists ? readRootId(roots.dst) : undefined;
    if (!o.dryRun) {
      const keys = [...rootLockKeys(roots.src, srcId, a), ...rootLockKeys(roots.dst, dstId, b)];
      release = await acquireLocks(db, keys, {
        command: o.command,
        waitMs: o.lockWaitMs,
        now,
      });
    }
    // A root's id is its marker, else its path (as a file index location is keyed).
    const pairKey = [srcId ?? `path:${roots.src}`, dstId ?? `path:${roots.dst}`] as const;
    const last = db
      .prepare('SELECT clean_started_ms FROM oneway_runs WHERE src = ? AND dst = ?')
      .pluck()
      .get(...pairKey) as number | undefined;
    const caches: RunState['caches'] = {};
    if (o.checksum) {
      caches.src = cacheOf(db, pairKey[0], roots.src, now);
      if (roots.dstExists) caches.dst = cacheOf(db, pairKey[1], roots.dst, now);
    }
    let releaseDst: (() => void) | undefined;
    return {
      lockMadeDst() {
        releaseDst ??= lockMadeRoot(roots.dst, b);
      },
      caches,
      racySinceNs: last === undefined ? undefined : BigInt(last - RACY_MARGIN_MS) * 1_000_000n,
      recordCleanRun(startedMs) {
        db.prepare(
          `INSERT INTO oneway_runs (src, dst, clean_started_ms) VALUES (?, ?, ?)
           ON CONFLICT (src, dst) DO UPDATE SET clean_started_ms = excluded.clean_started_ms`,
        ).run(...pairKey, startedMs);
      },
      close() {
        releaseDst?.();
        release?.();
        db.close();
      },
    };
  } catch (err) {
    release?.();
    db.close();
    throw err;
  }
}

/** A root's file index as a scan uses it, under the location of `rootId`. */
export function cacheOf(db: StateDb, rootId: string, root: string, now: () => number): HashCache {
  return {
    index: new FileIndex(db, locationOf(db, rootId, root, now())),
    dev: lstatSync(root, { bigint: true }).dev,
    nowNs: () => BigInt(now()) * 1_000_000n,
    nowMs: now,
  };
}

/** The filter of a root: `.concordignore` at its top first, then `rules` in order. */
export function filterSpec(root: string, rules: FilterRule[] = []): FilterSpec {
  return { rules, ignoreFileText: readIgnoreFile(join(root, IGNORE_FILE)) };
}

/**
 * The source's filter for resolveLocalRoots (RootOptions.filterOf), built from the root once it
 * is resolved: one-way runs and pairs may keep B inside A when it leaves B out.
 */
export function sourceFilter(rules: FilterRule[] = []): (src: string) => Filter {
  return (src) => makeFilter(filterSpec(src, rules));
}

/**
 * `spec` with Concord's own state directory left out, as if excluded, where it lies inside one
 * of `roots` (the default ~/.local/share/concord inside a home directory being backed up): its
 * database changes while a run reads it, so every run ended with it "changed before it was
 * copied", and a two-way run would carry one machine's state database over the other's, open
 * there. The rule comes last, so no --include takes it back. Call once `home` exists (the state
 * database is open).
 */
export function leaveStateDirOut(
  spec: FilterSpec,
  home: string,
  roots: readonly string[],
): FilterSpec {
  let real: string;
  try {
    real = realpathSync(home);
  } catch {
    return spec;
  }
  const rules: FilterRule[] = [];
  for (const root of roots) {
    const rel = relative(root, real);
    if (rel === '' || rel === '..' || rel.startsWith('../') || isAbsolute(rel)) continue;
    rules.push(folderRule(rel));
  }
  return rules.length === 0 ? spec : { ...spec, rules: [...spec.rules, ...rules] };
}

/** More than this is no list of rules a person wrote (and /dev/zero never ends). */
const MAX_IGNORE_BYTES = 1024 * 1024;

/**
 * The text of a root's ignore file, '' when it has none. Anything but a regular file of a sane
 * size is refused, and so is one that cannot be read: its rules say what to leave alone, and a
 * run without them would sync (and on B, replace or trash) what the user excluded. A FIFO there
 * hung every run, a link to /dev/zero took all memory, and a symlink was followed.
 */
function readIgnoreFile(file: string): string {
  const refuse = (what: string, hint = 'make it a plain file of rules, or remove it') =>
    new ConcordError('bad-root', what, { path: file, hint });
  let fd: number;
  try {
    // O_NOFOLLOW: a symlink fails (ELOOP) instead of being followed; OPEN_TO_READ's
    // O_NONBLOCK: opening a FIFO does not wait for a writer.
    fd = openSync(file, OPEN_TO_READ | constants.O_NOFOLLOW);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return '';
    if (code === 'ELOOP') throw refuse('is a symlink: Concord reads only a file of its own here');
    throw refuse(`cannot read the ignore file: ${errText(err)}`, 'make it readable, or remove it');
  }
  try {
    const st = fstatSync(fd);
    if (!st.isFile())
      throw refuse(st.isDirectory() ? 'is a directory' : 'is a FIFO, socket or device');
    if (st.size > MAX_IGNORE_BYTES) throw refuse('is larger than 1 MiB: no list of ignore rules');
    // One byte more than its size, to notice one that grows while it is read.
    const buf = Buffer.alloc(st.size + 1);
    let n = 0;
    for (let got = -1; got !== 0 && n < buf.length; n += got)
      got = readSync(fd, buf, n, buf.length - n, null);
    if (n > st.size) throw refuse('changed while it was read', 'run again once it is saved');
    return buf.toString('utf8', 0, n);
  } catch (err) {
    if (err instanceof ConcordError) throw err;
    throw refuse(`cannot read the ignore file: ${errText(err)}`, 'make it readable, or remove it');
  } finally {
    closeSync(fd);
  }
}
