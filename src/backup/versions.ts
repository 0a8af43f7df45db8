import type { RelPath } from '../core/path.ts';
import type { Catalog } from './catalog.ts';
import { iso } from './restore.ts';

/** One line of `concord versions` (DESIGN.md: the `--json` objects). */
export interface VersionLine {
  path: string;
  /** ISO 8601 UTC of the backup that captured this content. */
  versionTime: string;
  size: number;
  /** current: B holds it now; kept: an older version of a path B holds; deleted: B no longer has the path. */
  state: 'current' | 'kept' | 'deleted';
}

/**
 * The versions of files and symlinks at `path` or below (directories are kept for their times,
 * not listed), by path then time; undefined when the history never held `path`.
 */
export function listVersions(catalog: Catalog, path: RelPath): VersionLine[] | undefined {
  const all = catalog.versionsUnder(path);
  if (all.length === 0 && path !== '') return undefined;
  const runTime = new Map(catalog.runs().map((r) => [r.id, r.timeMs]));
  const present = new Set(all.filter((v) => v.displaced === undefined).map((v) => v.path));
  return all
    .filter((v) => v.kind !== 'dir')
    .map((v) => ({
      path: v.path,
      versionTime: iso(runTime.get(v.captured) ?? 0),
      size: v.size,
      state: v.displaced === undefined ? 'current' : present.has(v.path) ? 'kept' : 'deleted',
    }));
}
