import type { Entry } from '../core/entry.ts';
import type { FilterSpec } from '../core/filter.ts';
import { reusableHash, stampKey } from '../core/hash-reuse.ts';
import { comparePaths, join, type RelPath } from '../core/path.ts';
import type { Problem } from '../core/problem.ts';
import type { Endpoint } from '../endpoint/endpoint.ts';
import type { FileIndex, IndexRow } from '../index/file-index.ts';
import { walkRoot } from './walk.ts';

export type ChangeKind = 'new' | 'modified' | 'metadata' | 'deleted';

export interface Change {
  path: RelPath;
  kind: ChangeKind;
  /** What the path is now (or was, when deleted). */
  entry: 'file' | 'dir' | 'symlink';
}

/**
 * What changed in a root since its index last saw it, without syncing and without writing the
 * index. A file whose stat no longer matches its row but whose size does is read and hashed:
 * `modified` means the content differs, `metadata` that only mtime or mode do. A deleted or new
 * directory is one change; what was under a deleted one is not listed. Sorted by path.
 */
export async function rootStatus(
  ep: Endpoint,
  index: FileIndex,
  dev: bigint,
  filter: FilterSpec,
): Promise<{ changes: Change[]; problems: Problem[] }> {
  const changes: Change[] = [];
  const problems: Problem[] = [];
  /** Directories that are new: their subtree is reported whole, without index lookups. */
  const fresh = new Set<RelPath>();
  for await (const w of walkRoot(ep, filter)) {
    problems.push(...w.problems);
    const isNew = fresh.has(w.dir);
    const known = isNew ? new Map<string, IndexRow>() : index.dir(w.dir);
    const names = new Set<string>();
    for (const e of w.entries) {
      names.add(e.name);
      const path = join(w.dir, e.name);
      const kind = await changeOf(known.get(e.name), e, path);
      if (kind) changes.push({ path, kind, entry: e.kind });
      if (kind === 'new' && e.kind === 'dir') fresh.add(path);
    }
    if (!w.complete) continue;
    for (const [name, r] of known)
      if (!names.has(name))
        changes.push({ path: join(w.dir, name), kind: 'deleted', entry: r.kind });
  }
  changes.sort((x, y) => comparePaths(x.path, y.path));
  return { changes, problems };

  async function changeOf(
    r: IndexRow | undefined,
    e: Entry,
    path: RelPath,
  ): Promise<ChangeKind | undefined> {
    if (!r) return 'new';
    if (r.kind !== e.kind) return 'modified';
    if (e.kind === 'dir') return r.mode !== e.mode ? 'metadata' : undefined;
    if (e.kind === 'symlink') return r.target !== e.target ? 'modified' : undefined;
    if (r.size !== e.size) return 'modified';
    const key = stampKey(e, dev);
    // The key ends with mtime:ctime; an equal mtime leaves the same text before the ctime.
    const metaSame = r.mode === e.mode && mtimeOf(r.stat) === String(e.mtimeNs);
    if (reusableHash(r, e, key) !== undefined) return metaSame ? undefined : 'metadata';
    // Stat changed (or the row is racy): the content decides, when the index knows it.
    if (r.hash === undefined) return metaSame && r.stat === key ? undefined : 'modified';
    try {
      const now = await ep.hash(path, e);
      if (now !== r.hash) return 'modified';
    } catch {
      return 'modified';
    }
    return metaSame ? undefined : 'metadata';
  }
}

/** The mtime field of a stat key (dev:ino:size:mtime:ctime). */
function mtimeOf(stat: string): string | undefined {
  return stat.split(':')[3];
}
