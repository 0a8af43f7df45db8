import { lstatSync, readdirSync, rmdirSync, unlinkSync } from 'node:fs';
import { join } from 'node:path';
import { type RetentionPolicy, type VersionAge, versionsToDrop } from '../core/retention.ts';
import type { Catalog, Version } from './catalog.ts';

export interface PruneResult {
  /** Versions dropped from the catalog. */
  versions: number;
  /** Files removed from history/, and their bytes. */
  files: number;
  bytes: number;
}

/**
 * Applies `policy` to every path of the catalog (core/retention.ts decides), drops the rows,
 * then removes the history files no remaining version refers to. The rows go first: a crash in
 * between leaves unreferenced files (space, never a version pointing at nothing).
 */
export function prune(
  catalog: Catalog,
  root: string,
  policy: RetentionPolicy,
  nowMs: number,
): PruneResult {
  const runTime = new Map(catalog.runs().map((r) => [r.id, r.timeMs]));
  const drop: number[] = [];
  let group: Version[] = [];
  const decide = () => {
    const ages: VersionAge[] = group.map((v) => ({
      id: v.id,
      replacedMs: v.displaced === undefined ? undefined : (runTime.get(v.displaced) ?? 0),
    }));
    drop.push(...versionsToDrop(ages, policy, nowMs));
    group = [];
  };
  for (const v of catalog.versionsUnder('')) {
    if (group.length > 0 && group[0]?.path !== v.path) decide();
    group.push(v);
  }
  if (group.length > 0) decide();
  const orphans = catalog.dropVersions(drop);
  const out: PruneResult = { versions: drop.length, files: 0, bytes: 0 };
  const dirs = new Set<string>();
  for (const b of orphans) {
    if (b.inTree || b.loc === undefined) continue;
    const abs = catalog.blobPath(root, b) as string;
    const st = lstatSync(abs, { throwIfNoEntry: false });
    if (!st) continue;
    unlinkSync(abs);
    out.files++;
    out.bytes += st.isFile() ? st.size : 0;
    dirs.add(b.loc.split('/')[0] as string);
  }
  // Folders emptied by the removals go too, run folders included.
  for (const d of dirs) removeEmptyDirs(join(catalog.historyDir, d));
  return out;
}

/** Removes `dir` and the folders below it that hold nothing (children first). */
function removeEmptyDirs(dir: string): boolean {
  let empty = true;
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (lstatSync(p).isDirectory() && removeEmptyDirs(p)) continue;
    empty = false;
  }
  if (empty) rmdirSync(dir);
  return empty;
}
