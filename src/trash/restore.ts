/**
 * `concord trash restore`: moves trashed versions back into the root (or under --to DIR).
 * Everything is checked first and nothing is ever overwritten (S7): a target that exists
 * refuses the whole restore before anything moves.
 */
import {
  constants,
  copyFileSync,
  lstatSync,
  mkdirSync,
  readlinkSync,
  rmdirSync,
  type Stats,
  symlinkSync,
  unlinkSync,
} from 'node:fs';
import { dirname, isAbsolute, join, relative, resolve, sep } from 'node:path';
import { isWithin, type RelPath, relPathError, STATE_DIR } from '../core/path.ts';
import { setMtime } from '../endpoint/local/copy-file.ts';
import { renameNoReplace } from '../endpoint/local/move.ts';
import { ConcordError, errText } from '../errors.ts';
import { pickRestore, TRASH_DIR, type TrashItem } from './layout.ts';
import { readItems, type Trash } from './read.ts';

export interface RestoreOptions {
  /** Restore the newest version trashed at or before this time (ms since the epoch). */
  atMs?: number | undefined;
  /** A directory to restore into instead of the root, as the user named it. */
  to?: string | undefined;
}

export interface Restored {
  items: TrashItem[];
  bytes: number;
  /** Where they went: the root, or --to DIR, as the user named it. */
  dest: string;
}

/** PATH as typed (`/` or `.` for everything, a leading `/` meaning the root) as a RelPath. */
export function trashPathArg(text: string): RelPath {
  const p = text.replace(/^\/+|\/+$/g, '').replace(/^\.(\/|$)/, '');
  const why = relPathError(p);
  if (why !== undefined)
    throw new ConcordError('usage', `${why}`, {
      path: text,
      hint: 'give PATH relative to ROOT, as concord trash list shows it, or / for everything',
    });
  if (isWithin(p, STATE_DIR) && p !== '')
    throw new ConcordError('usage', `is Concord's own folder, never trashed`, {
      path: text,
      hint: 'give a path that concord trash list shows',
    });
  return p;
}

export function restoreFromTrash(trash: Trash, path: RelPath, o: RestoreOptions = {}): Restored {
  const shownPath = path === '' ? '/' : path;
  if (!trash.exists)
    throw new ConcordError('usage', `has no trash: nothing was ever trashed there`, {
      path: trash.shown,
      hint: `a mirror or two-way run keeps what it deletes or overwrites in ${TRASH_DIR}/`,
    });
  const pick = pickRestore(readItems(trash), path, o.atMs);
  if (!pick.ok && pick.reason === 'unknown')
    throw new ConcordError('usage', `is not in the trash of ${trash.shown}`, {
      path: shownPath,
      hint: `concord trash list ${trash.shown} shows what it holds`,
    });
  if (!pick.ok)
    throw new ConcordError(
      'usage',
      `nothing here was trashed at or before ${iso(o.atMs ?? 0)}; the oldest version is from ${iso(pick.oldestMs)}`,
      { path: shownPath, hint: 'give a later --at, or leave it out for the newest version' },
    );
  const base = destination(trash, o.to);
  const shownBase = o.to ?? trash.shown;
  const blocked = blockers(base, pick.items);
  if (blocked.length > 0) {
    const first = blocked[0] as string;
    const more = blocked.length > 1 ? ` (and ${blocked.length - 1} more)` : '';
    throw new ConcordError(
      'guard',
      `exists${more}: restoring ${shownPath} from the trash would overwrite it`,
      {
        path: join(shownBase, first),
        hint: 'nothing was changed; move it away, or restore elsewhere with --to DIR',
      },
    );
  }
  let bytes = 0;
  let done = 0;
  for (const item of pick.items) {
    const src = join(trash.dir, item.stored);
    const dst = join(base, item.path);
    try {
      if (item.kind === 'dir') {
        mkdirSync(dst, { recursive: true });
        rmdirSync(src);
      } else {
        mkdirSync(dirname(dst), { recursive: true });
        moveNoReplace(src, dst, item.path);
      }
    } catch (err) {
      const text = err instanceof ConcordError ? err.message : `cannot restore: ${errText(err)}`;
      throw new ConcordError('failed', text, {
        path: join(shownBase, item.path),
        hint: `${done} of ${pick.items.length} were restored; the rest are still in the trash`,
        cause: err,
      });
    }
    pruneEmpty(trash.dir, dirname(src));
    bytes += item.size;
    done++;
  }
  return { items: pick.items, bytes, dest: shownBase };
}

/** The root, or --to DIR (made if missing): never inside the root's own `.concord/`. */
function destination(trash: Trash, to: string | undefined): string {
  if (to === undefined) return trash.root;
  const abs = resolve(to);
  const state = join(trash.root, STATE_DIR);
  const rel = relative(state, abs);
  const outside = rel === '..' || rel.startsWith(`..${sep}`) || isAbsolute(rel);
  if (!outside)
    throw new ConcordError('usage', `is inside ${join(trash.shown, STATE_DIR)}`, {
      path: to,
      hint: 'restore into the root (leave out --to) or a directory outside it',
    });
  const st = lstatOrUndefined(abs);
  if (st && !st.isDirectory())
    throw new ConcordError('usage', 'is not a directory', {
      path: to,
      hint: 'give --to a directory (it is made when missing)',
    });
  return abs;
}

/**
 * Paths (relative to `base`) that would be overwritten or written through: an existing
 * target (a directory may receive a restored directory), or an ancestor that is a file or a
 * symlink (following one could leave the root).
 */
function blockers(base: string, items: readonly TrashItem[]): string[] {
  const found = new Set<string>();
  const seen = new Map<string, Stats | undefined>();
  const at = (rel: string) => {
    if (!seen.has(rel)) seen.set(rel, lstatOrUndefined(join(base, rel)));
    return seen.get(rel);
  };
  for (const item of items) {
    const segs = item.path.split('/');
    let blockedAbove = false;
    for (let n = 1; n < segs.length; n++) {
      const rel = segs.slice(0, n).join('/');
      const st = at(rel);
      if (!st) break;
      if (!st.isDirectory()) {
        found.add(rel);
        blockedAbove = true;
        break;
      }
    }
    if (blockedAbove) continue;
    const st = at(item.path);
    if (st && !(item.kind === 'dir' && st.isDirectory())) found.add(item.path);
  }
  return [...found].sort();
}

/**
 * Moves a trashed version to `dst` unless something is there (renameNoReplace), which keeps the
 * inode, so mode and mtime come back as they were; onto another file system, a copy.
 */
function moveNoReplace(src: string, dst: string, shown: string): void {
  let moved: boolean;
  try {
    moved = renameNoReplace(src, dst);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EXDEV') throw err;
    copyAcross(src, dst);
    return;
  }
  if (!moved)
    throw new ConcordError(
      'failed',
      `${shown} appeared during the restore; it was not overwritten`,
    );
}

/** --to on another file system: a copy that keeps mode and mtime, then the trashed one goes. */
function copyAcross(src: string, dst: string): void {
  const st = lstatSync(src, { bigint: true });
  const link = st.isSymbolicLink();
  if (link) symlinkSync(readlinkSync(src), dst);
  else copyFileSync(src, dst, constants.COPYFILE_EXCL); // copies the mode too
  setMtime(dst, st.mtimeNs, !link);
  unlinkSync(src);
}

/** Removes directories left empty in the trash, up to and including the run's directory. */
function pruneEmpty(trashDir: string, from: string): void {
  for (let d = from; d.startsWith(`${trashDir}${sep}`); d = dirname(d)) {
    try {
      rmdirSync(d);
    } catch {
      return; // not empty: what else this run trashed is still there
    }
  }
}

function lstatOrUndefined(abs: string): Stats | undefined {
  try {
    return lstatSync(abs);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') return undefined;
    throw err;
  }
}

function iso(ms: number): string {
  return new Date(ms).toISOString().replace('.000Z', 'Z');
}
