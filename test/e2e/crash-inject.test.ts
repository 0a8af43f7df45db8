/**
 * S14 by crash injection: strace kills the CLI (SIGKILL) at the Nth call of one system call, for
 * every call that changes a tree (open, write, rename, link, unlink, mkdir, chmod, utimensat...).
 * After each crash every path of B holds its old content or its new one, never part of either,
 * and one more run, with nothing injected, finishes the job and leaves no temporary behind.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { cpSync, mkdirSync, readFileSync, rmSync, symlinkSync, utimesSync } from 'node:fs';
import { join } from 'node:path';
import { type TestContext, test } from 'node:test';
import { isDeepStrictEqual } from 'node:util';
import { isTempName } from '../../src/endpoint/local/listing.ts';
import { CLI } from '../helpers/tree.ts';
import { cli, makeTree, readTree, type Seen, type Spec, tempDir, tempFiles } from './helpers.ts';

/**
 * The calls that change a tree or the state database. Each is killed at its 1st to 8th call;
 * open and write, which Node's start makes many of, at their last 8 (the run's end).
 */
const CALLS = [
  'mkdir',
  'rename',
  'renameat2',
  'link',
  'unlink',
  'rmdir',
  'symlink',
  'chmod',
  'fchmod',
  'utimensat',
  'ftruncate',
  'fsync',
  'pwrite64',
];
const LATE_CALLS = ['openat', 'write'];
const PER_CALL = 8;

const T = 1_600_000_000;
const SOURCE: Spec = {
  'd/new1': 'new 1',
  'd/new2': 'new 2',
  'd/new3': 'new 3',
  'd/new4': 'new 4',
  upd: { content: 'the version of A', mtime: T + 10 },
  large: 'l'.repeat(300_000),
  same: { content: 'same', mtime: T },
  'kind2dir/x': 'inner',
  dir2kind: 'now a file',
  mode: { content: 'm', mtime: T, mode: 0o644 },
};
const TARGET: Spec = {
  'd/keep': 'kept on B? no: mirror deletes it',
  upd: { content: 'the old version on B', mtime: T },
  same: { content: 'same', mtime: T },
  kind2dir: 'was a file',
  'dir2kind/y': 'in',
  'gone/g': 'g',
  gonefile: 'gone',
  mode: { content: 'm', mtime: T, mode: 0o600 },
};

/** strace's arguments that kill the traced process (SIGKILL) at the nth `call`. */
function injectKill(call: string, n: number): string[] {
  return [
    '-f',
    '-qq',
    '-o',
    '/dev/null',
    '-e',
    `trace=${call}`,
    '-e',
    `inject=${call}:signal=KILL:when=${n}`,
  ];
}

function isTemp(path: string): boolean {
  return path.split('/').some(isTempName);
}

/** How many times a run of `args` in `env` makes each of `calls` (strace -c). */
function callCounts(
  calls: string[],
  args: string[],
  env: Record<string, string>,
  out: string,
): Map<string, number> {
  const r = spawnSync(
    'strace',
    [
      '-f',
      '-qq',
      '-c',
      '-o',
      out,
      '-e',
      `trace=${calls.join(',')}`,
      process.execPath,
      CLI,
      ...args,
    ],
    { env: { ...process.env, ...env }, encoding: 'utf8' },
  );
  assert.equal(r.status, 0, r.stderr);
  const counts = new Map<string, number>();
  // "% time  seconds  usecs/call  calls  errors syscall": calls is the 4th column.
  for (const line of readFileSync(out, 'utf8').split('\n')) {
    const f = line.trim().split(/\s+/);
    const name = f.at(-1) as string;
    if (calls.includes(name)) counts.set(name, Number(f[3]));
  }
  return counts;
}

function strace(): boolean {
  return spawnSync('strace', ['-V'], { stdio: 'ignore' }).status === 0;
}

type Roots = { A: string; B: string };

/** A copy of the roots and the state directory as they are before the run, under `tag`. */
function copyOf(dir: string, roots: Roots, home: string, tag: string): Roots & { home: string } {
  const to = { A: join(dir, `A-${tag}`), B: join(dir, `B-${tag}`), home: join(dir, `home-${tag}`) };
  for (const [from, into] of [
    [roots.A, to.A],
    [roots.B, to.B],
    [home, to.home],
  ] as const)
    cpSync(from, into, { recursive: true, preserveTimestamps: true });
  return to;
}

/** Every file a root holds now (temporaries aside) is one of the versions it may hold. */
function assertNothingTorn(root: string, versions: Record<string, Seen>[], where: string): void {
  for (const [path, now] of Object.entries(readTree(root, { meta: false }))) {
    if (now.kind !== 'file' || isTemp(path)) continue;
    const may = versions.map((v) => v[path]).filter((s): s is Seen => s?.kind === 'file');
    assert.ok(
      may.some((s) => s.content === now.content),
      `${where}: ${root}/${path} holds none of its old or new contents`,
    );
  }
}

function withoutTemps(root: string): Record<string, Seen> {
  return Object.fromEntries(
    Object.entries(readTree(root, { meta: false })).filter(([p]) => !isTemp(p)),
  );
}

/**
 * Runs `concord <command> A B` on a copy of `roots` and `home` killed at every point, checks S14
 * on both roots against their contents before and after a clean run (`done`), then runs once
 * more without strace and expects `done` on both sides and no temporary. Returns how many kills
 * left a root part-written.
 */
async function killEverywhere(
  dir: string,
  command: string,
  roots: Roots,
  home: string,
  o: {
    /** More to check of B once the run after the crash is done. */
    after?: (B: string) => Promise<void>;
    /** For every run: CONCORD_NATIVE=0 takes the paths of a machine without the addon. */
    env?: Record<string, string>;
  } = {},
): Promise<{ points: number; midway: number }> {
  const clean = copyOf(dir, roots, home, 'clean');
  const counts = callCounts(
    [...CALLS, ...LATE_CALLS],
    [command, clean.A, clean.B],
    { ...o.env, CONCORD_HOME: clean.home },
    join(dir, 'counts.txt'),
  );
  const done = { A: withoutTemps(clean.A), B: withoutTemps(clean.B) };
  const before = { A: withoutTemps(roots.A), B: withoutTemps(roots.B) };
  const points: [string, number][] = [];
  for (const call of CALLS)
    for (let n = 1; n <= Math.min(counts.get(call) ?? 0, PER_CALL); n++) points.push([call, n]);
  for (const call of LATE_CALLS) {
    const total = counts.get(call) ?? 0;
    for (let n = Math.max(1, total - PER_CALL + 1); n <= total; n++) points.push([call, n]);
  }
  let midway = 0;
  for (const [call, n] of points) {
    const at = copyOf(dir, roots, home, `${call}-${n}`);
    const env = { ...o.env, CONCORD_HOME: at.home };
    const r = spawnSync(
      'strace',
      [...injectKill(call, n), process.execPath, CLI, command, at.A, at.B],
      {
        env: { ...process.env, ...env },
        encoding: 'utf8',
      },
    );
    const where = `${command} killed at ${call} #${n}`;
    const versions = [before.A, before.B, done.A, done.B];
    assertNothingTorn(at.A, versions, where);
    assertNothingTorn(at.B, versions, where);
    if (r.signal === 'SIGKILL' || r.status === 137) {
      const now = { A: withoutTemps(at.A), B: withoutTemps(at.B) };
      const written = (s: 'A' | 'B') =>
        !isDeepStrictEqual(now[s], before[s]) && !isDeepStrictEqual(now[s], done[s]);
      if (written('A') || written('B')) midway++;
    }
    const again = await cli([command, at.A, at.B], { env });
    assert.equal(again.code, 0, `${where}, then a run: ${again.stderr}`);
    assert.deepEqual(withoutTemps(at.A), done.A, `${where}: A`);
    assert.deepEqual(withoutTemps(at.B), done.B, `${where}: B`);
    assert.deepEqual([...tempFiles(at.A), ...tempFiles(at.B)], [], where);
    await o.after?.(at.B);
    for (const p of [at.A, at.B, at.home]) rmSync(p, { recursive: true, force: true });
  }
  return { points: points.length, midway };
}

/** The mirror's roots: every kind of change a mirror makes (SOURCE onto TARGET). */
function mirrorCase(t: TestContext): { dir: string; roots: Roots; home: string } {
  const dir = tempDir(t, 'concord-crash-');
  const roots = { A: join(dir, 'A'), B: join(dir, 'B') };
  makeTree(roots.A, SOURCE);
  symlinkSync('same', join(roots.A, 'link'));
  makeTree(roots.B, TARGET);
  for (const root of [roots.A, roots.B]) utimesSync(root, T, T);
  const home = join(dir, 'home');
  mkdirSync(home);
  return { dir, roots, home };
}

test('S14 a mirror killed at the Nth call of each call that writes: every path old or new, never torn; the next run converges, no temporary left', async (t) => {
  assert.ok(strace(), 'strace is installed (.ci/run installs it)');
  const { dir, roots, home } = mirrorCase(t);
  const { points, midway } = await killEverywhere(dir, 'mirror', roots, home);
  t.diagnostic(`${points} kill points, ${midway} of them with part of B written`);
  // Many points kill it with part of B written: the cases S14 is about.
  assert.ok(midway >= 10, `${midway} of ${points} runs were killed mid-apply`);
});

test('S14 the same without the addon (CONCORD_NATIVE=0: copies in worker threads, listings in JavaScript)', async (t) => {
  assert.ok(strace(), 'strace is installed (.ci/run installs it)');
  const { dir, roots, home } = mirrorCase(t);
  const env = { CONCORD_NATIVE: '0' };
  const { points, midway } = await killEverywhere(dir, 'mirror', roots, home, { env });
  t.diagnostic(`${points} kill points, ${midway} of them with part of B written`);
  assert.ok(midway >= 10, `${midway} of ${points} runs were killed mid-apply`);
});

/** A two-way pair after its first sync, then changed on both sides: every kind of change. */
async function twoWayCase(t: TestContext): Promise<{ dir: string; roots: Roots; home: string }> {
  const dir = tempDir(t, 'concord-crash-');
  const roots = { A: join(dir, 'A'), B: join(dir, 'B') };
  makeTree(roots.A, {
    'docs/a.txt': { content: 'a', mtime: T },
    'docs/b.txt': { content: 'b', mtime: T },
    'both.txt': { content: 'base', mtime: T },
    'gone-on-b.txt': { content: 'g', mtime: T },
    'dir/x': { content: 'x', mtime: T },
  });
  for (const root of [roots.A]) utimesSync(root, T, T);
  const home = join(dir, 'home');
  mkdirSync(home);
  const first = await cli(['sync', roots.A, roots.B], { env: { CONCORD_HOME: home } });
  assert.equal(first.code, 0, first.stderr);
  // Then both sides change: new files, edits, a deletion, a conflict, a kind change.
  makeTree(roots.A, {
    'docs/a.txt': { content: 'a, edited on A', mtime: T + 10 },
    'new-on-a/1': 'one',
    'new-on-a/2': 'two',
    'both.txt': { content: 'edited on A', mtime: T + 20 },
  });
  makeTree(roots.B, {
    'docs/b.txt': { content: 'b, edited on B', mtime: T + 10 },
    'new-on-b': 'three',
    'both.txt': { content: 'edited on B', mtime: T + 30 },
  });
  rmSync(join(roots.B, 'gone-on-b.txt'));
  rmSync(join(roots.A, 'dir'), { recursive: true });
  makeTree(roots.A, { dir: 'a file now' });
  return { dir, roots, home };
}

test('S14 a two-way sync killed at the Nth call of each call that writes: both sides old or new, never torn; the next sync converges to what an unbroken one makes', async (t) => {
  assert.ok(strace(), 'strace is installed (.ci/run installs it)');
  const { dir, roots, home } = await twoWayCase(t);
  const { points, midway } = await killEverywhere(dir, 'sync', roots, home);
  t.diagnostic(`${points} kill points, ${midway} of them with part of A or B written`);
  assert.ok(midway >= 10, `${midway} of ${points} runs were killed mid-apply`);
});

test('S14 the same two-way sync without the addon: a conflict copy made by link + unlink and killed between the two is finished by the next run, not copied twice', async (t) => {
  assert.ok(strace(), 'strace is installed (.ci/run installs it)');
  const { dir, roots, home } = await twoWayCase(t);
  const env = { CONCORD_NATIVE: '0' };
  const { points, midway } = await killEverywhere(dir, 'sync', roots, home, { env });
  t.diagnostic(`${points} kill points, ${midway} of them with part of A or B written`);
  assert.ok(midway >= 10, `${midway} of ${points} runs were killed mid-apply`);
});

test('S14 a backup killed at the Nth call of each call that writes: B old or new, never torn; the next backup converges and its history still reads', async (t) => {
  assert.ok(strace(), 'strace is installed (.ci/run installs it)');
  const dir = tempDir(t, 'concord-crash-');
  const roots = { A: join(dir, 'A'), B: join(dir, 'B') };
  makeTree(roots.A, { ...SOURCE, upd: { content: 'first version', mtime: T } });
  const home = join(dir, 'home');
  mkdirSync(home);
  const first = await cli(['backup', roots.A, roots.B], { env: { CONCORD_HOME: home } });
  assert.equal(first.code, 0, first.stderr);
  // Then A changes: an edit (the old version goes to history), a deletion, new files.
  makeTree(roots.A, {
    upd: { content: 'second version', mtime: T + 10 },
    'd/new1': { content: 'new 1, edited', mtime: T + 10 },
    'd/new2': { content: 'new 2, edited', mtime: T + 10 },
    'e/5': 'five',
    'e/6': 'six',
    'e/7': 'seven',
  });
  rmSync(join(roots.A, 'same'));
  rmSync(join(roots.A, 'd', 'new3'));
  const { points, midway } = await killEverywhere(dir, 'backup', roots, home, {
    after: async (B) => {
      const r = await cli(['versions', B, 'upd']);
      assert.equal(r.code, 0, r.stderr);
      assert.match(r.stdout, /kept +upd/, 'the first version is in the history');
    },
  });
  t.diagnostic(`${points} kill points, ${midway} of them with part of B written`);
  assert.ok(midway >= 5, `${midway} of ${points} runs were killed mid-apply`);
});
