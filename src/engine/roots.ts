import {
  accessSync,
  type BigIntStats,
  constants,
  existsSync,
  lstatSync,
  readdirSync,
  readlinkSync,
  realpathSync,
  statSync,
} from 'node:fs';
import { basename, dirname, join, relative, resolve } from 'node:path';
import { type Filter, leavesOut } from '../core/filter.ts';
import type { RelPath } from '../core/path.ts';
import { rootsOverlap } from '../core/safety.ts';
import { ConcordError, errText } from '../errors.ts';

export interface LocalRoots {
  /** Resolved (symlinks followed) absolute paths. */
  src: string;
  dst: string;
  dstExists: boolean;
}

export interface RootOptions {
  /**
   * One-way runs: the source's filter, given its resolved path. A destination inside the
   * source is let in when the filter leaves it out (or a folder above it): the walk of A never
   * reaches B, as with `rsync -a --exclude /backup / /backup`. Without it, it is refused.
   */
  filterOf?: ((src: string) => Filter) | undefined;
}

/**
 * Checks a local source and destination before anything is touched: the source is a readable
 * directory, the destination is a directory or can be created in an existing parent, and
 * neither lies inside the other, also through symlinks (a copy of A into A would never end),
 * unless the source's filter leaves the destination out (RootOptions.filterOf).
 */
export function resolveLocalRoots(a: string, b: string, o: RootOptions = {}): LocalRoots {
  const src = resolveSource(a);
  const bAbs = resolve(b);
  const st = statSync(bAbs, { throwIfNoEntry: false });
  let dst: string;
  if (st) {
    if (!st.isDirectory()) {
      throw new ConcordError('bad-root', 'exists and is not a directory', {
        path: b,
        hint: 'give a directory (or a path that does not exist yet) as the destination',
      });
    }
    dst = realpathSync(bAbs);
  } else {
    // A symlink to nothing: the run would make no directory through it, and then find none.
    if (lstatSync(bAbs, { throwIfNoEntry: false })?.isSymbolicLink()) {
      throw new ConcordError(
        'bad-root',
        `is a symlink to ${readlinkSync(bAbs)}, which does not exist`,
        {
          path: b,
          hint: 'create the directory it points to, or give another destination',
        },
      );
    }
    const parent = dirname(bAbs);
    const pst = statSync(parent, { throwIfNoEntry: false });
    if (!pst?.isDirectory()) {
      throw new ConcordError('bad-root', `parent directory ${parent} does not exist`, {
        path: b,
        hint: 'create it first, or check the path',
      });
    }
    try {
      accessSync(parent, constants.W_OK | constants.X_OK);
    } catch (err) {
      throw new ConcordError(
        'bad-root',
        `cannot be created: its parent is not writable (${errText(err)})`,
        {
          path: b,
          hint: 'choose a destination you can write to, or fix the permissions of its parent',
        },
      );
    }
    dst = join(realpathSync(parent), basename(bAbs));
  }
  // One directory under two paths (a bind mount, a second mount of the file system): the
  // paths differ, the directory does not. Nor do they show one root inside the other that
  // way: B at bound/sub, where bound is A mounted again, is A/sub, and each mirror copied A
  // into itself once more.
  const srcSt = statSync(src, { bigint: true });
  const dstSt = st && statSync(dst, { bigint: true });
  const overlap = rootsOverlap(src, dst);
  if (overlap === 'same' || (dstSt?.dev === srcSt.dev && dstSt.ino === srcSt.ino)) {
    throw new ConcordError('bad-root', `is the same directory as ${a}`, {
      path: b,
      hint: 'give two different directories',
    });
  }
  // Where B lies in A, as A's walk would reach it.
  const bInA = overlap === 'b-inside-a' ? relative(src, dst) : inside(dst, srcSt);
  if (bInA !== undefined) {
    const filter = o.filterOf?.(src);
    if (!filter || !leavesOut(filter, bInA)) {
      const fix = filter ? `, or leave it out of the source with --exclude /${bInA}` : '';
      throw new ConcordError('bad-root', `lies inside the source ${a}`, {
        path: b,
        hint: `choose a destination outside the source${fix}`,
      });
    }
  }
  if (overlap === 'a-inside-b' || (overlap === null && dstSt && inside(src, dstSt) !== undefined)) {
    throw new ConcordError('bad-root', `the source lies inside the destination ${b}`, {
      path: a,
      hint: 'choose a destination that does not contain the source',
    });
  }
  return { src, dst, dstExists: st !== undefined };
}

/**
 * Where `path` (resolved) lies in the directory `outer` is the stat of, found by the identity
 * of the folders above it; undefined when none of them is that directory.
 */
function inside(path: string, outer: BigIntStats): RelPath | undefined {
  for (let at = dirname(path); ; at = dirname(at)) {
    const s = statSync(at, { bigint: true, throwIfNoEntry: false });
    if (s && s.dev === outer.dev && s.ino === outer.ino) return relative(at, path);
    if (dirname(at) === at) return undefined;
  }
}

/** An existing, readable directory, resolved through symlinks; else a bad-root error. */
export function resolveSource(a: string): string {
  const abs = resolve(a);
  if (!existsSync(abs)) {
    throw new ConcordError('bad-root', 'does not exist', {
      path: a,
      hint: 'check the source path',
    });
  }
  const st = statSync(abs);
  if (!st.isDirectory()) {
    throw new ConcordError('bad-root', 'is not a directory', {
      path: a,
      hint: 'Concord syncs directory trees: give the directory that holds it',
    });
  }
  try {
    readdirSync(abs);
  } catch (err) {
    throw new ConcordError('bad-root', `cannot be read: ${errText(err)}`, {
      path: a,
      hint: 'check its permissions',
    });
  }
  return realpathSync(abs);
}

/**
 * A root a run will write into, refused when it sits on a read-only file system: otherwise
 * every write fails one by one, some with errors that name something else (a trash folder
 * that could not be made reads as ENOENT). Only EROFS: a root we may not write may still hold
 * subfolders we may.
 */
export function assertWritable(root: string, shown: string): void {
  try {
    accessSync(root, constants.W_OK);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EROFS') return;
    throw new ConcordError('bad-root', 'is on a read-only file system: nothing can be written', {
      path: shown,
      hint: 'remount it read-write, or give another destination',
    });
  }
}
