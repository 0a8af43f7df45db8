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
import { test } from 'node:test';
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

/** How many times a run of `args` on a copy of its target makes each of `calls` (strace -c). */
function callCounts(calls: string[], args: string[], dir: string): Map<string, number> {
  const target = args[2] as string;
  const copy = join(dir, 'count-target');
  cpSync(target, copy, { recursive: true, preserveTimestamps: true });
  const home = join(dir, 'count-home');
  mkdirSync(home);
  const out = join(dir, 'count.txt');
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
      args[0] as string,
      args[1] as string,
      copy,
    ],
    { env: { ...process.env, CONCORD_HOME: home }, encoding: 'utf8' },
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

test('S14 a mirror killed at the Nth call of each call that writes: every path old or new, never torn; the next run converges, no temporary left', async (t) => {
  assert.ok(strace(), 'strace is installed (.ci/run installs it)');
  const dir = tempDir(t, 'concord-crash-');
  const A = join(dir, 'A');
  const B0 = join(dir, 'B0');
  makeTree(A, SOURCE);
  symlinkSync('same', join(A, 'link'));
  makeTree(B0, TARGET);
  for (const root of [A, B0]) utimesSync(root, T, T);
  const want = readTree(A, { meta: false });
  const before = readTree(B0, { meta: false });
  const counts = callCounts([...CALLS, ...LATE_CALLS], ['mirror', A, B0], dir);
  const points: [string, number][] = [];
  for (const call of CALLS)
    for (let n = 1; n <= Math.min(counts.get(call) ?? 0, PER_CALL); n++) points.push([call, n]);
  for (const call of LATE_CALLS) {
    const total = counts.get(call) ?? 0;
    for (let n = Math.max(1, total - PER_CALL + 1); n <= total; n++) points.push([call, n]);
  }
  let midway = 0;
  for (const [call, n] of points) {
    const B = join(dir, `B-${call}-${n}`);
    const home = join(dir, `home-${call}-${n}`);
    cpSync(B0, B, { recursive: true, preserveTimestamps: true });
    mkdirSync(home);
    const r = spawnSync('strace', [...injectKill(call, n), process.execPath, CLI, 'mirror', A, B], {
      env: { ...process.env, CONCORD_HOME: home },
      encoding: 'utf8',
    });
    const where = `killed at ${call} #${n}`;
    const seen = readTree(B, { meta: false });
    for (const [path, now] of Object.entries(seen)) {
      if (now.kind !== 'file' || isTemp(path)) continue;
      const was = [want[path], before[path]].filter((s): s is Seen => s?.kind === 'file');
      assert.ok(
        was.some((s) => s.content === now.content),
        `${where}: ${path} holds neither its old nor its new content`,
      );
    }
    if (r.signal === 'SIGKILL' || r.status === 137) {
      const clean = Object.fromEntries(Object.entries(seen).filter(([p]) => !isTemp(p)));
      if (!isDeepStrictEqual(clean, before) && !isDeepStrictEqual(clean, want)) midway++;
    }
    const again = await cli(['mirror', A, B], { env: { CONCORD_HOME: home } });
    assert.equal(again.code, 0, `${where}, then a run: ${again.stderr}`);
    assert.deepEqual(readTree(B, { meta: false }), want, where);
    assert.deepEqual(tempFiles(B), [], where);
    rmSync(B, { recursive: true, force: true });
  }
  t.diagnostic(`${points.length} kill points, ${midway} of them with part of B written`);
  // Many points kill it with part of B written: the cases S14 is about.
  assert.ok(midway >= 10, `${midway} of ${points.length} runs were killed mid-apply`);
});
