/**
 * `concord backup | versions | restore | prune` as a user runs them: output formats, refusals
 * of bad input that change nothing, restoring in place, and a backup killed mid-apply.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import {
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  renameSync,
  writeFileSync,
} from 'node:fs';
import { join } from 'node:path';
import { describe, type TestContext, test } from 'node:test';
import { CLI, type Spec } from '../helpers/tree.ts';
import {
  assertRefused,
  cli,
  contents,
  fingerprint,
  HAS_FIX,
  put,
  readTree,
  roots,
  summaryOf,
  T1,
  T2,
} from './helpers.ts';

interface VersionJson {
  path: string;
  versionTime: string;
  size: number;
  state: string;
}

async function versionsJson(B: string, path?: string): Promise<VersionJson[]> {
  const r = await cli(['versions', B, ...(path ? [path] : []), '--json']);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stdout.trim().split('\n').length, 1, 'one JSON document on one line');
  return JSON.parse(r.stdout) as VersionJson[];
}

async function ok(args: string[]) {
  const r = await cli(args);
  assert.equal(r.code, 0, `${args.join(' ')}: ${r.stderr}`);
  return r;
}

/** A backed-up pair: a.txt edited and old.txt deleted between two backups. */
async function twoBackups(t: TestContext) {
  const r = roots(t, {
    'a.txt': { content: 'first', mtime: T1 },
    'old.txt': { content: 'old', mtime: T1 },
    'd/x.txt': { content: 'x', mtime: T1 },
  });
  await ok(['backup', r.A, r.B]);
  put(r.A, 'a.txt', 'second!', T2);
  put(r.A, 'd/new.txt', 'new', T2);
  await ok(['sync', r.A, r.B, '--mode', 'backup']);
  return r;
}

describe('versions', () => {
  test('--json prints one array of {path, versionTime, size, state}: ISO UTC times, current/kept/deleted', async (t) => {
    const { A, B } = roots(t, { 'a.txt': { content: 'first', mtime: T1 }, 'old.txt': 'old' });
    await ok(['backup', A, B]);
    put(A, 'a.txt', 'second!', T2);
    const { rmSync } = await import('node:fs');
    rmSync(join(A, 'old.txt'));
    await ok(['backup', A, B]);
    const all = await versionsJson(B);
    for (const v of all) {
      assert.deepEqual(Object.keys(v).sort(), ['path', 'size', 'state', 'versionTime']);
      assert.match(v.versionTime, /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/);
    }
    assert.deepEqual(
      all.map((v) => [v.path, v.size, v.state]),
      [
        ['a.txt', 5, 'kept'],
        ['a.txt', 7, 'current'],
        ['old.txt', 3, 'deleted'],
      ],
    );
    assert.ok((all[0] as VersionJson).versionTime < (all[1] as VersionJson).versionTime);
    assert.deepEqual(
      (await versionsJson(B, 'a.txt')).map((v) => v.state),
      ['kept', 'current'],
    );
    const table = await ok(['versions', B, 'a.txt']);
    assert.match(table.stdout, /^TIME +SIZE +STATE +PATH\n/);
    assert.match(table.stdout, /kept +a\.txt\n/);
  });
});

describe('bad input: exit 2, one line naming the path and the fix, nothing changed', () => {
  test('unknown path, a time before the first backup, a bad time, DIR not empty, in place without --yes, not a backup root', async (t) => {
    const { dir, A, B } = await twoBackups(t);
    const D = join(dir, 'D');
    const full = mkdirSync(join(dir, 'full'), { recursive: true }) ?? join(dir, 'full');
    writeFileSync(join(full, 'keep.txt'), 'mine');
    const before = fingerprint(dir);
    const cases: [string[], ...(string | RegExp)[]][] = [
      [['restore', B, 'no/such.txt', '--to', D], 'no/such.txt', 'not in the history', HAS_FIX],
      [
        ['restore', B, 'a.txt', '--at', '2000-01-01T00:00:00Z', '--to', D],
        'before the first backup',
        HAS_FIX,
      ],
      [['restore', B, 'a.txt', '--at', 'yesterday', '--to', D], "'yesterday'", HAS_FIX],
      [['restore', B, '/', '--to', full], full, 'not empty', HAS_FIX],
      [['restore', B, 'a.txt'], '--yes', '--to', HAS_FIX],
      [['restore', A, 'a.txt', '--to', D], A, 'not a backup root', HAS_FIX],
      [['versions', B, 'nothing-here'], 'nothing-here', HAS_FIX],
      [['versions', A], A, 'not a backup root', HAS_FIX],
      [['prune', A, '--keep-last', '1'], A, 'not a backup root', HAS_FIX],
      // A mirror or a copy would change B without keeping its history (S25).
      [['mirror', A, B], B, 'is a backup root', 'concord backup', HAS_FIX],
      [['copy', A, B], B, 'is a backup root', HAS_FIX],
      [['sync', A, B], B, 'is a backup root', 'two-way', HAS_FIX],
      [['sync', B, A], B, 'is a backup root', HAS_FIX],
    ];
    for (const [args, ...needles] of cases) {
      const r = await cli(args);
      assertRefused(r, ...needles);
      assert.deepEqual(fingerprint(dir), before, `${args.join(' ')} changed nothing`);
      assert.equal(existsSync(D), false);
    }
  });
});

test('a backup catalog of 0 bytes (cut short) is refused by backup, versions and restore, naming it and the way out; nothing changes', async (t) => {
  const { dir, A, B } = await twoBackups(t);
  const catalog = join(B, '.concord', 'history', 'catalog.db');
  writeFileSync(catalog, '');
  put(A, 'a.txt', 'third', T2);
  const before = fingerprint(dir);
  for (const args of [
    ['backup', A, B],
    ['versions', B],
    ['restore', B, 'a.txt', '--to', join(dir, 'D')],
  ]) {
    const r = await cli(args);
    assert.equal(r.code, 1, `${args.join(' ')}: ${r.stderr}`);
    assert.equal(
      r.stderr,
      `concord: ${catalog}: the backup catalog is empty (0 bytes): it was cut short, and its list of versions with it (move it aside to start a new history; the versions kept so far stay in their folders beside it)\n`,
    );
    assert.deepEqual(fingerprint(dir), before, `${args.join(' ')} changed nothing`);
  }
  // The way out the line names: a new history, the old versions left where they were.
  const history = readdirSync(join(B, '.concord', 'history')).filter((n) => n !== 'catalog.db');
  renameSync(catalog, join(dir, 'catalog.aside'));
  await ok(['backup', A, B]);
  assert.equal(readFileSync(join(B, 'a.txt'), 'utf8'), 'third');
  for (const run of history) assert.ok(existsSync(join(B, '.concord', 'history', run)), run);
});

test('S20: --max-delete refuses a first backup before anything is written into B (no catalog either)', async (t) => {
  const { dir, A, B } = roots(t, { 'a.txt': 'a' }, { 'a.txt': 'a', 'extra.txt': 'x' });
  const before = fingerprint(dir);
  assertRefused(await cli(['backup', A, B, '--max-delete', '0']), B, '--max-delete', HAS_FIX);
  assert.deepEqual(fingerprint(dir), before);
});

describe('restore', () => {
  test('S7: in place with --yes: the old version is back, the one it replaced is kept in history', async (t) => {
    const { dir, B } = await twoBackups(t);
    const [first] = await versionsJson(B, 'a.txt');
    const r = await ok([
      'restore',
      B,
      'a.txt',
      '--at',
      (first as VersionJson).versionTime,
      '--yes',
    ]);
    assert.match(r.stdout, /restored a\.txt/);
    assert.equal(readFileSync(join(B, 'a.txt'), 'utf8'), 'first');
    const states = (await versionsJson(B, 'a.txt')).map((v) => [v.size, v.state]);
    assert.deepEqual(states, [
      [5, 'kept'],
      [7, 'kept'],
      [5, 'current'],
    ]);
    // Into a directory, the latest backup: the second version, under its own path.
    await ok(['restore', B, '/', '--to', join(dir, 'R')]);
    assert.equal(readFileSync(join(dir, 'R', 'a.txt'), 'utf8'), 'second!');
  });

  test('plan --mode backup changes nothing and says deletions are kept in history', async (t) => {
    const { dir, A, B } = await twoBackups(t);
    const { rmSync } = await import('node:fs');
    rmSync(join(A, 'd/x.txt'));
    const before = fingerprint(dir);
    const r = await ok(['plan', A, B, '--mode', 'backup']);
    assert.match(r.stdout, /Delete \(kept in history\) \(1\):\n {2}- d\/x\.txt/);
    assert.deepEqual(fingerprint(dir), before);
    const s = summaryOf(await ok(['backup', A, B, '--json']));
    assert.equal(s.mode, 'backup');
    assert.equal(s.deleted, 1);
  });
});

/** 3,000 files in 30 directories. */
function bigTree(content: string): Spec {
  const spec: Spec = {};
  for (let i = 0; i < 3000; i++)
    spec[`d${i % 30}/f${i}`] = { content: `${content} ${i} `.repeat(20), mtime: T1 + i };
  return spec;
}

/** `concord backup --json`, sent `signal` once its first operation is reported (no sleep). */
function killMidApply(
  A: string,
  B: string,
  signal: NodeJS.Signals = 'SIGKILL',
): Promise<{ code: number | null; signal: string | null }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CLI, 'backup', A, B, '--json', '--concurrency', '1'], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    let sent = false;
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString();
      if (!sent && out.includes('"type":"op"')) {
        sent = true;
        child.kill(signal);
      }
    });
    child.on('error', reject);
    child.on('close', (code, sig) => resolve({ code, signal: sig }));
  });
}

test('S25, S15: a backup SIGKILLed mid-apply leaves history and catalog consistent; the next run completes it', async (t) => {
  const { dir, A, B } = roots(t, bigTree('first'));
  const first = contents(A);
  await ok(['backup', A, B]);
  const t1 = ((await versionsJson(B, 'd0/f0'))[0] as VersionJson).versionTime;
  // Every file rewritten (same size: only the catalog knows which bytes are whose).
  for (let i = 0; i < 3000; i++) put(A, `d${i % 30}/f${i}`, `secnd ${i} `.repeat(20), T2 + i);
  const second = contents(A);
  const killed = await killMidApply(A, B);
  assert.equal(killed.signal, 'SIGKILL');
  const now = contents(B);
  const done = Object.keys(second).filter(
    (p) => second[p]?.kind === 'file' && now[p]?.content === second[p]?.content,
  );
  assert.ok(done.length > 0 && done.length < 3000, `killed mid-apply (${done.length} written)`);
  // Right after the crash, the first backup restores exactly (the restore settles the crash).
  await ok(['restore', B, '/', '--at', t1, '--to', join(dir, 'R1')]);
  assert.deepEqual(contents(join(dir, 'R1')), first);
  // The next run completes the backup; both points in time restore exactly.
  const again = summaryOf(await ok(['backup', A, B, '--json']));
  assert.equal(again.updated, 3000 - done.length, 'only what the killed run had not done');
  assert.deepEqual(readTree(B), readTree(A));
  await ok(['restore', B, '/', '--to', join(dir, 'R2')]);
  assert.deepEqual(contents(join(dir, 'R2')), second);
  await ok(['restore', B, '/', '--at', t1, '--to', join(dir, 'R3')]);
  assert.deepEqual(contents(join(dir, 'R3')), first);
  // Every file has its two versions: the first one kept, the second current (S25).
  const all = await versionsJson(B);
  assert.equal(all.length, 6000);
  for (const v of all) assert.ok(v.state === 'kept' || v.state === 'current');
  assert.equal(all.filter((v) => v.state === 'kept').length, 3000);
});

test('SIGINT mid-backup: exit 130; the interrupted run is no restore point, its versions are kept, the next run completes', async (t) => {
  const { dir, A, B } = roots(t, bigTree('first'));
  const first = contents(A);
  await ok(['backup', A, B]);
  for (let i = 0; i < 3000; i++) put(A, `d${i % 30}/f${i}`, `secnd ${i} `.repeat(20), T2 + i);
  const stopped = await killMidApply(A, B, 'SIGINT');
  assert.equal(stopped.code, 130);
  // The latest restore point is still the first backup, whole.
  await ok(['restore', B, '/', '--to', join(dir, 'R1')]);
  assert.deepEqual(contents(join(dir, 'R1')), first);
  await ok(['backup', A, B]);
  await ok(['restore', B, '/', '--to', join(dir, 'R2')]);
  assert.deepEqual(contents(join(dir, 'R2')), contents(A));
  const all = await versionsJson(B);
  assert.equal(
    all.filter((v) => v.state === 'kept').length,
    3000,
    'every first version kept (S25)',
  );
});

test('S24 + S25: a renamed folder is one move in a backup (nothing copied), and restores at both times give the source as it was', async (t) => {
  const { dir, A, B } = roots(t, {
    'd/one.txt': { content: 'one', mtime: T1 },
    'd/sub/two.txt': { content: 'two', mtime: T1 },
    'top.txt': { content: 'top', mtime: T1 },
  });
  await ok(['backup', A, B]);
  const before = readTree(A, { meta: false });
  const [first] = await versionsJson(B, 'top.txt');
  renameSync(join(A, 'd'), join(A, 'e'));
  const s = summaryOf(await ok(['backup', A, B, '--json']));
  assert.equal(s.moved, 1);
  assert.equal(s.bytesCopied, 0);
  assert.equal(s.deleted, 0);
  const then = join(dir, 'then');
  const now = join(dir, 'now');
  await ok(['restore', B, '/', '--at', (first as VersionJson).versionTime, '--to', then]);
  await ok(['restore', B, '/', '--to', now]);
  assert.deepEqual(readTree(then, { meta: false }), before);
  assert.deepEqual(readTree(now, { meta: false }), readTree(A, { meta: false }));
});
