import { existsSync, lstatSync, mkdirSync, readdirSync, realpathSync } from 'node:fs';
import { isAbsolute, relative, resolve } from 'node:path';
import type { Entry, Meta } from '../core/entry.ts';
import { comparePaths, parent, type RelPath, relPathError } from '../core/path.ts';
import { ABSENT, ANY_DIR, type Precondition, same } from '../core/plan.ts';
import { type Problem, problem } from '../core/problem.ts';
import type { Endpoint } from '../endpoint/endpoint.ts';
import { LocalEndpoint } from '../endpoint/local/local.ts';
import { ConcordError, errText } from '../errors.ts';
import type { Catalog, Run, Version } from './catalog.ts';
import { RecordingEndpoint } from './recording-endpoint.ts';
import { freeRunDir, recoverCrashed } from './run.ts';

export interface RestoreOptions {
  /** Restore into this directory (created if missing, refused unless empty); else in place. */
  to?: string | undefined;
  /** Milliseconds since the epoch, for the run record of an in-place restore. */
  now?: () => number;
}

export interface RestoreResult {
  /** The backup whose view was restored. */
  run: Run;
  /** Entries written (files, links, directories). */
  restored: number;
  bytes: number;
  problems: Problem[];
}

/** `/`, `./x/`, `x/y` -> the RelPath of a restore or versions argument; throws a usage error. */
export function historyPath(text: string): RelPath {
  const p = text.replace(/^\.\/+/, '').replace(/^\/+|\/+$/g, '');
  const why = relPathError(p);
  if (why !== undefined)
    throw new ConcordError('usage', `the path ${text} ${why}`, {
      hint: 'give a path inside the backup, relative to its top, or / for all of it',
    });
  return p;
}

/** The last complete backup at or before `atMs` (default: the latest). */
export function restorePoint(catalog: Catalog, shownRoot: string, atMs: number | undefined): Run {
  const backups = catalog.runs().filter((r) => r.kind === 'backup' && r.state === 'complete');
  const first = backups[0];
  if (first === undefined)
    throw new ConcordError('usage', 'holds no complete backup yet', {
      path: shownRoot,
      hint: 'run concord backup A B first',
    });
  if (atMs === undefined) return backups.at(-1) as Run;
  let found: Run | undefined;
  for (const r of backups) if (r.timeMs <= atMs) found = r;
  if (found === undefined)
    throw new ConcordError(
      'usage',
      `${iso(atMs)} is before the first backup (${iso(first.timeMs)})`,
      { path: shownRoot, hint: `give a time at or after ${iso(first.timeMs)}` },
    );
  return found;
}

/**
 * The versions that make `path` as the backup `point` saw it, parent first; refuses a path the
 * history never held, or one that did not exist then (exit 2, nothing changed).
 */
export function wantedAt(
  catalog: Catalog,
  shownRoot: string,
  path: RelPath,
  point: Run,
): Version[] {
  const wanted = catalog.liveAt(path, point.id).sort((x, y) => comparePaths(x.path, y.path));
  if (wanted.length === 0 || wanted[0]?.path !== path) {
    const ever = catalog.versionsUnder(path).length > 0;
    throw new ConcordError(
      'usage',
      ever
        ? `${show(path)} did not exist at the backup of ${iso(point.timeMs)}`
        : `${show(path)} is not in the history of this backup`,
      {
        path: shownRoot,
        hint: ever
          ? `concord versions ${shownRoot} ${show(path)} lists its versions and their times`
          : `concord versions ${shownRoot} lists what it holds`,
      },
    );
  }
  return wanted;
}

/**
 * Restores `path` (a file or a directory; '' is the whole tree) exactly as the backup `point`
 * saw it: kinds, bytes, link targets, mtimes and modes (directories' after their children).
 * Into `o.to`, or in place in B, where what the restore replaces goes to history first.
 * Refuses, changing nothing, a path the history never held or that did not exist then.
 */
export async function restore(
  catalog: Catalog,
  root: string,
  shownRoot: string,
  path: RelPath,
  point: Run,
  o: RestoreOptions,
): Promise<RestoreResult> {
  if (o.to !== undefined) checkDestination(o.to, root);
  // A run killed after an operation but before its row would make a row point at bytes that
  // are no longer there: find what it did first (the caller holds B's lock).
  recoverCrashed(catalog, root);
  const wanted = wantedAt(catalog, shownRoot, path, point);
  const ancestors = ancestorsOf(path).map((a) =>
    catalog.liveAt(a, point.id).find((v) => v.path === a),
  );
  if (o.to !== undefined) {
    const dest = createDestination(o.to);
    const ep = new LocalEndpoint({ root: dest, uri: o.to });
    const result = { run: point, restored: 0, bytes: 0, problems: [] as Problem[] };
    const dirs: Version[] = [];
    for (const [i, a] of ancestorsOf(path).entries()) {
      await ep.mkdir(a, ABSENT);
      const v = ancestors[i];
      if (v !== undefined) dirs.push(v);
    }
    await writeAll(catalog, root, ep, wanted, new Map(), result, dirs);
    await setDirMeta(ep, dirs, result);
    await ep.close();
    return result;
  }
  return restoreInPlace(catalog, root, path, point, wanted, ancestors, o);
}

async function restoreInPlace(
  catalog: Catalog,
  root: string,
  path: RelPath,
  point: Run,
  wanted: Version[],
  ancestors: (Version | undefined)[],
  o: RestoreOptions,
): Promise<RestoreResult> {
  const now = o.now ?? Date.now;
  const runDir = freeRunDir(root, new Date(now()), catalog);
  const runId = catalog.startRun('restore', now(), runDir);
  const inner = new LocalEndpoint({ root, trashDir: `${catalog.historyDir}/${runDir}` });
  const ep = new RecordingEndpoint(inner, catalog, runId, runDir);
  const result = { run: point, restored: 0, bytes: 0, problems: [] as Problem[] };
  try {
    const want = new Map(wanted.map((v) => [v.path, v]));
    const have = new Map(
      catalog
        .versionsUnder(path)
        .filter((v) => v.displaced === undefined)
        .map((v) => [v.path, v]),
    );
    // The times of the directories above, which writing inside them moves: put back after.
    const aboveMeta: [RelPath, Entry][] = [];
    const dirs: Version[] = [];
    const top = await inner.stat('');
    if (path !== '' && top !== undefined) aboveMeta.push(['', top]);
    for (const [i, a] of ancestorsOf(path).entries()) {
      const st = await inner.stat(a);
      if (st?.kind === 'dir') {
        aboveMeta.push([a, st]);
        continue;
      }
      const v = ancestors[i];
      if (st !== undefined) await guarded(result, a, () => ep.remove(a, same(st)));
      await guarded(result, a, () => ep.mkdir(a, ABSENT));
      if (v !== undefined) dirs.push(v);
    }
    // What is in the way goes to history first (children first).
    const gone = [...have.values()]
      .filter((v) => want.get(v.path)?.kind !== v.kind)
      .sort((x, y) => comparePaths(y.path, x.path));
    for (const v of gone) {
      const st = await inner.stat(v.path);
      if (st === undefined) continue;
      await guarded(result, v.path, () => ep.remove(v.path, same(st)));
    }
    await writeAll(catalog, root, ep, wanted, have, result, dirs);
    await setDirMeta(ep, dirs, result);
    for (const [a, st] of aboveMeta.reverse())
      await guarded(result, a, () => inner.setMeta(a, 'dir', meta(st), ANY_DIR));
    catalog.finishRun(runId, 'complete');
    return result;
  } catch (err) {
    catalog.finishRun(runId, 'partial');
    throw err;
  } finally {
    await inner.close();
  }
}

/** Writes the wanted versions parent-first; directories are collected for their times. */
async function writeAll(
  catalog: Catalog,
  root: string,
  ep: Endpoint,
  wanted: readonly Version[],
  have: ReadonlyMap<RelPath, Version>,
  result: RestoreResult,
  dirs: Version[],
): Promise<void> {
  const failedDirs = new Set<RelPath>();
  for (const v of wanted) {
    if (v.path !== '' && failedDirs.has(parent(v.path))) {
      if (v.kind === 'dir') failedDirs.add(v.path);
      continue;
    }
    if (v.kind === 'dir') dirs.push(v);
    if (have.get(v.path)?.id === v.id) continue; // already there, this very version
    const st = await ep.stat(v.path);
    const pre: Precondition = st === undefined ? ABSENT : same(st);
    const ok = await guarded(result, v.path, async () => {
      if (v.kind === 'dir') {
        if (st?.kind !== 'dir') await ep.mkdir(v.path, ABSENT);
        result.restored++;
        return;
      }
      if (v.kind === 'symlink') {
        await ep.symlink(v.path, v.target ?? '', meta(v), pre);
        result.restored++;
        return;
      }
      const b = v.blob === undefined ? undefined : catalog.blob(v.blob);
      const abs = b === undefined ? undefined : catalog.blobPath(root, b);
      const bst =
        abs === undefined ? undefined : lstatSync(abs, { bigint: true, throwIfNoEntry: false });
      if (abs === undefined || !bst?.isFile() || Number(bst.size) !== v.size) {
        throw new Lost(`its bytes are missing from the history (${abs ?? 'never kept'})`);
      }
      const expect: Entry = {
        name: '',
        kind: 'file',
        size: v.size,
        mtimeNs: bst.mtimeNs,
        ctimeNs: bst.ctimeNs,
        mode: Number(bst.mode & 0o7777n),
        ino: bst.ino,
      };
      result.bytes += await ep.write(
        v.path,
        { type: 'local-file', path: abs, expect },
        meta(v),
        pre,
      );
      result.restored++;
    });
    if (!ok && v.kind === 'dir') failedDirs.add(v.path);
  }
}

/** Directory times and modes, children first, after everything inside them is written. */
async function setDirMeta(ep: Endpoint, dirs: readonly Version[], result: RestoreResult) {
  const order = [...dirs].sort((x, y) => comparePaths(y.path, x.path));
  for (const d of order) {
    const st = await ep.stat(d.path);
    if (st?.kind !== 'dir' || (st.mtimeNs / 1000n === d.mtimeNs / 1000n && st.mode === d.mode))
      continue;
    await guarded(result, d.path, () => ep.setMeta(d.path, 'dir', meta(d), ANY_DIR));
  }
}

class Lost extends Error {}

/** Runs one step; a failure becomes a problem for that path (the others go on, S17). */
async function guarded(result: RestoreResult, path: RelPath, fn: () => Promise<unknown>) {
  try {
    await fn();
    return true;
  } catch (err) {
    result.problems.push(
      problem(
        path,
        'write-failed',
        `not restored: ${err instanceof Lost ? err.message : errText(err)}`,
        {
          side: 'B',
          hint: err instanceof Lost ? 'restore it from another time' : 'check the destination',
        },
      ),
    );
    return false;
  }
}

/** `--to DIR`: refused when it holds anything or lies inside B (changes nothing). */
export function checkDestination(to: string, root: string): void {
  const abs = resolve(to);
  if (existsSync(abs)) {
    const st = lstatSync(abs);
    if (!st.isDirectory())
      throw new ConcordError('usage', 'exists and is not a directory', {
        path: to,
        hint: 'give a new or empty directory to --to',
      });
    if (readdirSync(abs).length > 0)
      throw new ConcordError('usage', 'is not empty', {
        path: to,
        hint: 'give a new or empty directory to --to, or restore in place with --yes',
      });
  }
  const inside = relative(root, resolveReal(abs));
  if (inside === '' || (!inside.startsWith('..') && !isAbsolute(inside)))
    throw new ConcordError('usage', 'lies inside the backup root', {
      path: to,
      hint: 'restore outside it (the next backup would delete it), or in place with --yes',
    });
}

function createDestination(to: string): string {
  const abs = resolve(to);
  try {
    mkdirSync(abs, { recursive: true });
  } catch (err) {
    throw new ConcordError('usage', `cannot create the directory: ${errText(err)}`, {
      path: to,
      hint: 'check that its parent is writable',
    });
  }
  return realpathSync(abs);
}

/** The real path of `abs`, or of its nearest existing ancestor joined with the rest. */
function resolveReal(abs: string): string {
  if (existsSync(abs)) return realpathSync(abs);
  const up = resolve(abs, '..');
  return up === abs ? abs : `${resolveReal(up)}/${abs.slice(up.length + 1)}`;
}

/** The directories above `path`, top first (the root itself excluded). */
function ancestorsOf(path: RelPath): RelPath[] {
  const out: RelPath[] = [];
  for (let p = parent(path); p !== ''; p = parent(p)) out.unshift(p);
  return path === '' ? [] : out;
}

function meta(v: { mtimeNs: bigint; mode: number }): Meta {
  return { mtimeNs: v.mtimeNs, mode: v.mode };
}

/** ISO 8601 UTC to the millisecond: a backup's time as `versions` shows it and `--at` takes it. */
export function iso(ms: number): string {
  return new Date(ms).toISOString();
}

function show(path: RelPath): string {
  return path === '' ? '/' : path;
}
