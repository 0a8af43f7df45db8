/**
 * Small shared fixtures for the end-to-end tests: two roots in one temporary directory, a
 * fingerprint that proves "nothing changed on disk", the trash of a run, leftover temp files.
 */
import assert from 'node:assert/strict';
import {
  chmodSync,
  existsSync,
  lstatSync,
  mkdirSync,
  readdirSync,
  utimesSync,
  writeFileSync,
} from 'node:fs';
import { join } from 'node:path';
import { type LocalSyncOptions, openLocalRun } from '../../src/api.ts';
import { execute } from '../../src/apply/execute.ts';
import { isTempName } from '../../src/endpoint/local/listing.ts';
import { planOneWay } from '../../src/engine/oneway.ts';
import { giveToNobody, IS_ROOT } from '../helpers/nobody.ts';
import {
  type CliResult,
  makeTree,
  readTree,
  runCli,
  type Seen,
  type Spec,
  summaryOf,
  tempDir,
} from '../helpers/tree.ts';

export { type CliResult, makeTree, readTree, runCli, type Seen, type Spec, summaryOf, tempDir };

/** Fixed mtimes (seconds) so that trees compare exactly. */
export const T1 = 1_600_000_000;
export const T2 = 1_650_000_000;
export const T3 = 1_700_000_000;

type Ctx = { after: (fn: () => void) => void };

export interface Roots {
  /** The temporary directory holding both roots (and anything else a test puts there). */
  dir: string;
  A: string;
  B: string;
}

/**
 * `dir/A` made from `a`; `dir/B` made from `b` when given, else left absent. Both roots get the
 * same mtime (T1), so that the roots themselves start in sync and counts are of the entries.
 */
export function roots(t: Ctx, a: Spec, b?: Spec): Roots {
  const dir = tempDir(t, 'concord-e2e-');
  const A = join(dir, 'A');
  const B = join(dir, 'B');
  makeTree(A, a);
  utimesSync(A, T1, T1);
  if (b) {
    makeTree(B, b);
    utimesSync(B, T1, T1);
  }
  return { dir, A, B };
}

/** Runs `concord ARGS` in `cwd` (default: the process's). */
export function cli(args: string[], opts: Parameters<typeof runCli>[1] = {}) {
  return runCli(args, opts);
}

/** Every NDJSON line of a `--json` run, parsed. */
export function events(r: CliResult): Record<string, unknown>[] {
  return r.stdout
    .trim()
    .split('\n')
    .filter((l) => l !== '')
    .map((l) => JSON.parse(l) as Record<string, unknown>);
}

export const COUNT_KEYS = [
  'created',
  'updated',
  'deleted',
  'moved',
  'metadataUpdated',
  'conflicts',
  'skipped',
  'bytesCopied',
] as const;

export type Counts = Record<(typeof COUNT_KEYS)[number], number>;

export const ZERO: Counts = {
  created: 0,
  updated: 0,
  deleted: 0,
  moved: 0,
  metadataUpdated: 0,
  conflicts: 0,
  skipped: 0,
  bytesCopied: 0,
};

/** The counters of a `--json` summary. */
export function counts(r: CliResult): Counts {
  const s = summaryOf(r);
  const out = { ...ZERO };
  for (const k of COUNT_KEYS) out[k] = s[k] as number;
  return out;
}

export function problemsOf(r: CliResult): { path: string; code: string; side?: string }[] {
  return (summaryOf(r).problems as { path: string; code: string; side?: string }[]).map((p) => ({
    path: p.path,
    code: p.code,
    ...(p.side ? { side: p.side } : {}),
  }));
}

/** Kind, content and link targets only (no mtimes or modes). */
export function contents(root: string): Record<string, Seen> {
  return readTree(root, { meta: false });
}

/**
 * Everything under `dir` including `.concord/` folders and `dir` itself: kind, content, link
 * target, mode, mtime, inode and ctime per path. Equal fingerprints mean nothing was written,
 * renamed, chmod-ed or touched.
 */
export function fingerprint(dir: string): Record<string, string> {
  const out: Record<string, string> = {};
  const tree = readTree(dir, { withState: true });
  const stamp = (p: string) => {
    const st = lstatSync(p, { bigint: true });
    return `${st.ino}:${st.ctimeNs}:${st.mtimeNs}:${st.mode}:${st.size}`;
  };
  out['.'] = stamp(dir);
  for (const [rel, seen] of Object.entries(tree)) {
    out[rel] = `${stamp(join(dir, rel))}:${JSON.stringify({ ...seen, mtimeUs: undefined })}`;
  }
  return out;
}

/** Paths (relative to `dir`) of every leftover temporary file of ours, `.concord/` folders included. */
export function tempFiles(dir: string): string[] {
  const found: string[] = [];
  const walk = (abs: string, rel: string) => {
    for (const name of readdirSync(abs)) {
      const r = rel === '' ? name : `${rel}/${name}`;
      if (isTempName(name)) found.push(r);
      const p = join(abs, name);
      if (lstatSync(p).isDirectory()) walk(p, r);
    }
  };
  walk(dir, '');
  return found;
}

export const STAMP = /^\d{8}-\d{6}(-\d+)?$/;

/** The run directories under `B/.concord/trash/` (none when the folder is absent). */
export function trashStamps(B: string): string[] {
  const t = join(B, '.concord', 'trash');
  return existsSync(t) ? readdirSync(t).sort() : [];
}

/** The single trash directory of one run; fails unless exactly one exists. */
export function onlyTrash(B: string): string {
  const stamps = trashStamps(B);
  assert.equal(stamps.length, 1, `one trash run directory expected, found ${stamps.join(', ')}`);
  const stamp = stamps[0] as string;
  assert.match(stamp, STAMP);
  return join(B, '.concord', 'trash', stamp);
}

/** Mode and mtime (µs) of a directory itself (readTree does not list its root). */
export function rootMeta(dir: string): { mode: number; mtimeUs: bigint } {
  const st = lstatSync(dir, { bigint: true });
  return { mode: Number(st.mode & 0o7777n), mtimeUs: st.mtimeNs / 1000n };
}

/**
 * Checks a run refused with exit 2: one line on stderr, starting `concord: `, naming every
 * needle (a path, an option, a fix), nothing on stdout.
 */
export function assertRefused(r: CliResult, ...needles: (string | RegExp)[]): void {
  assert.equal(r.code, 2, `exit code (stderr: ${r.stderr})`);
  assert.equal(r.stdout, '');
  const lines = r.stderr.split('\n').filter((l) => l !== '');
  assert.equal(lines.length, 1, `one line on stderr, got:\n${r.stderr}`);
  const line = lines[0] as string;
  assert.match(line, /^concord: /);
  for (const n of needles) {
    if (typeof n === 'string') assert.ok(line.includes(n), `'${n}' in: ${line}`);
    else assert.match(line, n);
  }
}

/** The hint in parentheses at the end of a one-line error: what to do about it. */
export const HAS_FIX = /\(.{8,}\)$/;

/**
 * Permission tests: root reads everything, so the CLI runs as `nobody` over a tree it owns
 * (the temporary directory itself opened to it). As another user, it runs as that user.
 */
export function prepareForNobody(dir: string): { asNobody?: boolean } {
  if (!IS_ROOT) return {};
  chmodSync(dir, 0o755);
  giveToNobody(dir);
  return { asNobody: true };
}

/** `mkdir -p` that returns its path. */
export function mkdirp(p: string): string {
  mkdirSync(p, { recursive: true });
  return p;
}

/** Writes `content` at `root/rel` with mtime `mtime` (seconds), making its directories. */
export function put(root: string, rel: string, content: string, mtime: number): void {
  const p = join(root, rel);
  mkdirSync(join(p, '..'), { recursive: true });
  writeFileSync(p, content);
  utimesSync(p, mtime, mtime);
}

/** What a root's trash holds, all runs together: path (below the run's folder) -> content. */
export function trashed(root: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const stamp of trashStamps(root))
    for (const [rel, seen] of Object.entries(contents(join(root, '.concord', 'trash', stamp))))
      if (seen.kind === 'file') out[rel] = seen.content as string;
  return out;
}

/** `dir/A` made from `spec`, then synced into a new `dir/B`: the pair has an ancestor. */
export async function synced(t: Ctx, spec: Spec): Promise<Roots> {
  const r = roots(t, spec);
  const first = await cli(['sync', r.A, r.B]);
  assert.equal(first.code, 0, first.stderr);
  assert.deepEqual(contents(r.B), contents(r.A));
  return r;
}

/**
 * Plans a one-way run of A over B in process, lets `meddle` change the roots behind the plan's
 * back, then executes the plan as it was: what the executor does with a stale plan (S16).
 */
export async function planMeddleExecute(
  A: string,
  B: string,
  o: Omit<LocalSyncOptions, 'workers'>,
  meddle: () => void,
) {
  const run = await openLocalRun(A, B, { ...o, workers: false });
  try {
    const planned = await planOneWay(run.src, run.dst, run.opts, run.deps);
    meddle();
    const result = await execute(
      planned.ops,
      run.src,
      run.dst,
      { concurrency: 4, now: run.deps.now },
      run.deps.emit,
      run.deps.jobId,
    );
    return { planned, result };
  } finally {
    await run.close();
  }
}
