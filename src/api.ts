import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { OneWayMode } from './core/oneway.ts';
import { LocalEndpoint, STATE_DIR } from './endpoint/local/local.ts';
import {
  type Deps,
  type OneWayOptions,
  type OneWayResult,
  planOneWay,
  runOneWay,
} from './engine/oneway.ts';
import { resolveLocalRoots } from './engine/roots.ts';
import type { Emit } from './jobs/events.ts';
import { type FilterRule, IGNORE_FILE, makeFilter } from './scan/filter.ts';

export interface LocalSyncOptions {
  mode: OneWayMode;
  checksum?: boolean;
  modifyWindowNs?: bigint;
  /** gitignore rules in order; `.concordignore` in A's root comes first. */
  rules?: FilterRule[];
  dryRun?: boolean;
  maxDelete?: number | undefined;
  /** Keep removed and overwritten files in B/.concord/trash/ (default true). */
  trash?: boolean;
  concurrency?: number;
  fsync?: boolean;
  signal?: AbortSignal;
  onEvent?: Emit;
  /** Milliseconds since the epoch; tests inject their own clock. */
  now?: () => number;
}

export const DEFAULT_CONCURRENCY = 8;

/**
 * Wires a one-way run between two local directories: resolves and checks the roots (throws
 * ConcordError before touching anything), builds the endpoints, the filter and the trash.
 */
export function openLocalRun(a: string, b: string, o: LocalSyncOptions) {
  const roots = resolveLocalRoots(a, b);
  const now = o.now ?? Date.now;
  const dryRun = o.dryRun ?? false;
  const src = new LocalEndpoint({ root: roots.src, uri: a });
  const dst = new LocalEndpoint({
    root: roots.dst,
    uri: b,
    trashDir: (o.trash ?? true) ? trashDir(roots.dst, new Date(now())) : undefined,
    cleanTemps: !dryRun,
    fsync: o.fsync ?? false,
  });
  const opts: OneWayOptions = {
    mode: o.mode,
    checksum: o.checksum ?? false,
    modifyWindowNs: o.modifyWindowNs ?? 0n,
    filter: makeFilter(o.rules ?? [], readIgnoreFile(roots.src)),
    dryRun,
    maxDelete: o.maxDelete,
    concurrency: o.concurrency ?? DEFAULT_CONCURRENCY,
    signal: o.signal,
  };
  const deps: Deps = { emit: o.onEvent ?? (() => {}), now, jobId: randomBytes(6).toString('hex') };
  return { src, dst, opts, deps };
}

/** One-way sync of two local directories (`concord copy` / `concord mirror`). */
export function syncLocal(a: string, b: string, o: LocalSyncOptions): Promise<OneWayResult> {
  const { src, dst, opts, deps } = openLocalRun(a, b, o);
  return runOneWay(src, dst, opts, deps);
}

/** What `syncLocal` would do; changes nothing. */
export function planLocal(a: string, b: string, o: LocalSyncOptions) {
  const { src, dst, opts, deps } = openLocalRun(a, b, { ...o, dryRun: true });
  return planOneWay(src, dst, opts, deps);
}

/** `B/.concord/trash/<UTC yyyymmdd-hhmmss>`, suffixed if a run in the same second made one. */
function trashDir(root: string, at: Date): string {
  const stamp = at.toISOString().replace(/[-:]/g, '').replace('T', '-').slice(0, 15);
  const base = join(root, STATE_DIR, 'trash', stamp);
  let dir = base;
  for (let n = 2; existsSync(dir); n++) dir = `${base}-${n}`;
  return dir;
}

function readIgnoreFile(root: string): string {
  try {
    return readFileSync(join(root, IGNORE_FILE), 'utf8');
  } catch {
    return '';
  }
}
