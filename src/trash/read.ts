/** Reading a root's trash from disk: the root checks, the run directories, the items. */
import { lstatSync, readdirSync, realpathSync, type Stats, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { ConcordError, errText } from '../errors.ts';
import {
  compareItems,
  parseRunName,
  TRASH_DIR,
  type TrashItem,
  type TrashRun,
  versionOf,
} from './layout.ts';

export interface Trash {
  /** The root as the user named it, for messages. */
  shown: string;
  /** Absolute path of the root. */
  root: string;
  /** Absolute path of `ROOT/.concord/trash`. */
  dir: string;
  /** False when the root has no trash folder (nothing was ever trashed there). */
  exists: boolean;
}

/** Checks ROOT and finds its trash; throws a ConcordError naming the path and the fix. */
export function openTrash(shown: string): Trash {
  const st = lstatOr(resolve(shown), shown, { follow: true });
  if (!st)
    throw new ConcordError('bad-root', 'does not exist', {
      path: shown,
      hint: 'give the root of a mirror or two-way sync',
    });
  if (!st.isDirectory())
    throw new ConcordError('bad-root', 'is not a directory', {
      path: shown,
      hint: 'give the root of a mirror or two-way sync',
    });
  // Resolved as a sync resolves its roots, so that both take the same run lock.
  const root = realpathSync(shown);
  const dir = join(root, TRASH_DIR);
  const t = lstatOr(dir, join(shown, TRASH_DIR));
  if (t && !t.isDirectory())
    throw new ConcordError('bad-root', 'is not a directory, so it holds no trash', {
      path: join(shown, TRASH_DIR),
      hint: 'move it away; Concord makes the folder again when it next trashes something',
    });
  return { shown, root, dir, exists: t !== undefined };
}

/** The run directories of the trash, oldest first; names that are not run stamps are ignored. */
export function readRuns(trash: Trash): TrashRun[] {
  if (!trash.exists) return [];
  const runs: TrashRun[] = [];
  for (const name of readDir(trash.dir, trash.shown)) {
    const run = parseRunName(name);
    if (run && lstatSync(join(trash.dir, name)).isDirectory()) runs.push(run);
  }
  return runs.sort((a, b) => a.ms - b.ms || a.seq - b.seq);
}

/** Every trashed version in the given runs (default: all), in `trash list` order. */
export function readItems(trash: Trash, runs: readonly TrashRun[] = readRuns(trash)): TrashItem[] {
  const items: TrashItem[] = [];
  for (const run of runs) walk(trash, run, '', '', items);
  return items.sort(compareItems);
}

/**
 * One directory of a run: files and symlinks are items (named by versionOf), an empty
 * directory is an item of its own (a removed directory), others are walked into.
 */
function walk(trash: Trash, run: TrashRun, stored: string, path: string, out: TrashItem[]): void {
  const abs = join(trash.dir, run.name, stored);
  const names = readDir(abs, trash.shown);
  const siblings = new Set(names);
  for (const name of names) {
    const s = stored === '' ? name : `${stored}/${name}`;
    const st = lstatSync(join(abs, name));
    if (st.isDirectory()) {
      const p = path === '' ? name : `${path}/${name}`;
      if (readDir(join(abs, name), trash.shown).length === 0)
        out.push({ path: p, kind: 'dir', size: 0, run, version: 1, stored: `${run.name}/${s}` });
      else walk(trash, run, s, p, out);
      continue;
    }
    const kind = st.isSymbolicLink() ? 'symlink' : st.isFile() ? 'file' : undefined;
    if (kind === undefined) continue; // Never written by Concord: sockets, FIFOs, devices.
    const v = versionOf(name, siblings);
    out.push({
      path: path === '' ? v.name : `${path}/${v.name}`,
      kind,
      size: st.size,
      run,
      version: v.version,
      stored: `${run.name}/${s}`,
    });
  }
}

function readDir(abs: string, shown: string): string[] {
  try {
    return readdirSync(abs).sort();
  } catch (err) {
    throw new ConcordError('failed', `cannot read the trash: ${errText(err)}`, {
      path: abs,
      hint: `check the permissions of ${join(shown, TRASH_DIR)}`,
      cause: err,
    });
  }
}

/** A root given as a symlink to a directory is that directory (`follow`); the trash is not. */
function lstatOr(abs: string, shown: string, o: { follow?: boolean } = {}): Stats | undefined {
  try {
    return o.follow ? statSync(abs) : lstatSync(abs);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') return undefined;
    throw new ConcordError('bad-root', `cannot be read: ${errText(err)}`, { path: shown });
  }
}
