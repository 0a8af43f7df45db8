import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { type LocalSyncOptions, openLocalRun, planLocal, syncLocal } from '../api.ts';
import { hasRules, type RetentionPolicy } from '../core/retention.ts';
import { ensureStateDir } from '../endpoint/local/state-dir.ts';
import { type OneWayResult, runOneWay } from '../engine/oneway.ts';
import { resolveLocalRoots } from '../engine/roots.ts';
import { stoppedPartWay } from '../errors.ts';
import { sourceFilter } from '../run-state.ts';
import { CATALOG_FILE, Catalog, HISTORY_DIR } from './catalog.ts';
import { type PruneResult, prune } from './prune.ts';
import { RecordingEndpoint } from './recording-endpoint.ts';
import { settle } from './settle.ts';

export interface BackupOptions
  extends Omit<LocalSyncOptions, 'mode' | 'trash' | 'keepDir' | 'backup'> {
  /** Replaces the remembered retention policy; undefined: use the remembered one. */
  retention?: RetentionPolicy | undefined;
}

export interface BackupResult extends OneWayResult {
  /** The catalog's id of this run (undefined for a dry run). */
  runId: number | undefined;
  pruned: PruneResult | undefined;
}

/**
 * `concord backup A B`: B's view becomes a mirror of A, and every version the run overwrites
 * or deletes on B is kept in B's history (S25), recorded in B's catalog with this run's time
 * (`now`), so `restore --at` can rebuild B as any backup saw it. Retention runs afterwards.
 */
export async function backupLocal(a: string, b: string, o: BackupOptions): Promise<BackupResult> {
  const now = o.now ?? Date.now;
  if (o.dryRun) {
    const r = await syncLocal(a, b, { ...o, mode: 'mirror', backup: true, dryRun: true });
    r.summary.mode = 'backup';
    return { ...r, runId: undefined, pruned: undefined };
  }
  const roots = resolveLocalRoots(a, b, {
    filterOf: sourceFilter(o.rules),
  });
  if (o.maxDelete !== undefined) {
    // The guard refuses before any change, and a backup's first change is its catalog in B:
    // a dry run applies the same guard first (one more scan, only with --max-delete).
    await syncLocal(a, b, { ...o, mode: 'mirror', backup: true, dryRun: true, keepPlan: false });
  }
  const startedAt = now();
  const runDir = freeRunDir(roots.dst, new Date(startedAt));
  const run = await openLocalRun(a, b, {
    ...o,
    mode: 'mirror',
    backup: true,
    keepDir: join(roots.dst, HISTORY_DIR, runDir),
  });
  let catalog: Catalog | undefined;
  try {
    // The catalog lives in B: B must exist before it (its parent was checked).
    if (!existsSync(roots.dst)) mkdirSync(roots.dst);
    ensureStateDir(roots.dst);
    catalog = Catalog.open(roots.dst, b, { create: true });
    recoverCrashed(catalog, roots.dst);
    const runId = catalog.startRun('backup', startedAt, runDir);
    if (catalog.getMeta('adopted') === undefined) {
      // What B holds before its first backup counts as seen by it.
      settle(catalog, roots.dst, runId, runDir);
      catalog.setMeta('adopted', String(runId));
    }
    if (o.retention !== undefined) catalog.setPolicy(o.retention);
    const dst = new RecordingEndpoint(run.dst, catalog, runId, runDir);
    let result: OneWayResult;
    try {
      result = await runOneWay(run.src, dst, run.opts, run.deps);
    } catch (err) {
      catalog.finishRun(runId, 'partial');
      throw err;
    }
    result.summary.mode = 'backup';
    const stopped = stoppedPartWay(result.summary.problems);
    catalog.finishRun(runId, o.signal?.aborted || stopped ? 'partial' : 'complete');
    run.recordRun(result.summary);
    const policy = catalog.policy();
    const pruned = hasRules(policy) ? prune(catalog, roots.dst, policy, now()) : undefined;
    return { ...result, runId, pruned };
  } finally {
    catalog?.close();
    await run.close();
  }
}

/** `concord plan A B --mode backup`: a mirror's plan (what it deletes goes to history). */
export function planBackup(a: string, b: string, o: BackupOptions) {
  return planLocal(a, b, { ...o, mode: 'mirror', backup: true });
}

/**
 * A run left 'running' was killed (we hold B's lock, so it is not alive): what it did between
 * an operation and its row is found on disk, then the run is marked partial. It stays in the
 * history, but only complete backups are restore points.
 */
export function recoverCrashed(catalog: Catalog, root: string): void {
  const crashed = catalog.runs().filter((r) => r.state === 'running');
  const last = crashed.at(-1);
  if (last === undefined) return;
  settle(catalog, root, last.id, last.dir);
  for (const r of crashed) catalog.finishRun(r.id, 'partial');
}

/** `<UTC yyyymmdd-hhmmss>` under B/.concord/history/, suffixed when a folder or a run has it. */
export function freeRunDir(root: string, at: Date, open?: Catalog): string {
  const stamp = at.toISOString().replace(/[-:]/g, '').replace('T', '-').slice(0, 15);
  const history = join(root, HISTORY_DIR);
  const used = new Set<string>();
  const c =
    open ??
    (existsSync(join(history, CATALOG_FILE))
      ? Catalog.open(root, root, { create: false, readonly: true })
      : undefined);
  try {
    for (const r of c?.runs() ?? []) used.add(r.dir);
  } finally {
    if (c !== open) c?.close();
  }
  let dir = stamp;
  for (let n = 2; used.has(dir) || existsSync(join(history, dir)); n++) dir = `${stamp}-${n}`;
  return dir;
}
