/**
 * `concord trash list | restore | empty` through the real CLI, on trash that real mirror and
 * two-way runs left (their clock injected where the time matters), and the 30-day expiry.
 */
import assert from 'node:assert/strict';
import { type ChildProcessWithoutNullStreams, spawn } from 'node:child_process';
import { once } from 'node:events';
import {
  chmodSync,
  existsSync,
  lstatSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  realpathSync,
  renameSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { describe, test } from 'node:test';
import { syncLocal } from '../../src/api.ts';
import { same } from '../../src/core/plan.ts';
import { LocalEndpoint } from '../../src/endpoint/local/local.ts';
import { runDirName } from '../../src/trash/layout.ts';
import { syncTwoWayLocal } from '../../src/twoway-local.ts';
import { REPO } from '../helpers/tree.ts';
import { TimeSetter } from './arbitraries.ts';
import {
  assertRefused,
  cli,
  contents,
  fingerprint,
  HAS_FIX,
  makeTree,
  prepareForNobody,
  problemsOf,
  readTree,
  roots,
  runCli,
  summaryOf,
  T1,
  T2,
  T3,
  tempDir,
  trashStamps,
} from './helpers.ts';

const DAY = 86_400_000;
/** A whole second, so that a run's stamp is its exact time. */
const T0 = Date.UTC(2026, 10, 2, 9, 30, 0);
const iso = (ms: number) => new Date(ms).toISOString();

/** A mirror run of the library at time `ms` (the trash stamp and the expiry use it). */
async function mirrorAt(A: string, B: string, ms: number) {
  const r = await syncLocal(A, B, { mode: 'mirror', now: () => ms, workers: false });
  assert.deepEqual(r.summary.problems, []);
  return r;
}

interface Listed {
  path: string;
  trashedAt: string;
  size: number;
  kind: string;
  runDir: string;
  storedAs: string;
}

async function listJson(root: string, env?: NodeJS.ProcessEnv): Promise<Listed[]> {
  const r = await runCli(['trash', 'list', root, '--json'], { env });
  assert.equal(r.code, 0, r.stderr);
  return JSON.parse(r.stdout) as Listed[];
}

describe('concord trash list', () => {
  test('lists what mirror runs trashed: path, run time, size, kind; by path, then time', async (t) => {
    const { A, B } = roots(t, { x: 'x1', 'd/a': 'aaa', 'd/e/': '', 'd/l': { link: 'a' } });
    await mirrorAt(A, B, T0);
    writeFileSync(join(A, 'x'), 'x2 longer');
    rmSync(join(A, 'd'), { recursive: true });
    await mirrorAt(A, B, T0 + DAY);
    writeFileSync(join(A, 'x'), 'x3');
    await mirrorAt(A, B, T0 + 2 * DAY);
    const run1 = runDirName(new Date(T0 + DAY));
    const run2 = runDirName(new Date(T0 + 2 * DAY));
    assert.deepEqual(await listJson(B), [
      {
        path: 'd/a',
        trashedAt: iso(T0 + DAY).replace('.000', ''),
        size: 3,
        kind: 'file',
        runDir: run1,
        storedAs: `.concord/trash/${run1}/d/a`,
      },
      {
        path: 'd/e',
        trashedAt: iso(T0 + DAY).replace('.000', ''),
        size: 0,
        kind: 'dir',
        runDir: run1,
        storedAs: `.concord/trash/${run1}/d/e`,
      },
      {
        path: 'd/l',
        trashedAt: iso(T0 + DAY).replace('.000', ''),
        size: 1,
        kind: 'symlink',
        runDir: run1,
        storedAs: `.concord/trash/${run1}/d/l`,
      },
      {
        path: 'x',
        trashedAt: iso(T0 + DAY).replace('.000', ''),
        size: 2,
        kind: 'file',
        runDir: run1,
        storedAs: `.concord/trash/${run1}/x`,
      },
      {
        path: 'x',
        trashedAt: iso(T0 + 2 * DAY).replace('.000', ''),
        size: 9,
        kind: 'file',
        runDir: run2,
        storedAs: `.concord/trash/${run2}/x`,
      },
    ]);
    const human = await runCli(['trash', 'list', B], { env: { TZ: 'UTC' } });
    assert.equal(human.code, 0, human.stderr);
    assert.match(human.stdout, /^2026-11-03 09:30:00 +file +3 B +d\/a$/m);
    assert.match(human.stdout, /^2026-11-03 09:30:00 +dir +- +d\/e\/$/m);
    assert.match(human.stdout, /^2026-11-04 09:30:00 +file +9 B +x$/m);
    assert.match(human.stdout, /5 items, 15 B/);
  });

  test('a name with a newline or another control character is escaped, one line per item (it could forge a row); restore takes the real name', async (t) => {
    const forged = 'a\n2026-01-01 00:00:00  file        1 B  passwords.txt';
    const { A, B } = roots(t, { keep: 'k' }, { keep: 'k', [forged]: 'x', 'bell\x07': 'y' });
    await mirrorAt(A, B, T0);
    const r = await runCli(['trash', 'list', B]);
    assert.equal(r.code, 0, r.stderr);
    const rows = r.stdout.split('\n').filter((l) => l.includes('  file  '));
    assert.equal(rows.length, 2, r.stdout);
    assert.ok(
      rows.some((l) => l.endsWith('  a\\n2026-01-01 00:00:00  file        1 B  passwords.txt')),
    );
    assert.ok(rows.some((l) => l.endsWith('  bell\\x07')));
    assert.doesNotMatch(r.stdout, /^passwords/m);
    const back = await runCli(['trash', 'restore', B, forged]);
    assert.equal(back.code, 0, back.stderr);
    assert.match(back.stdout, /a\\n2026/);
    assert.equal(readFileSync(join(B, forged), 'utf8'), 'x');
  });

  test('shows local time, which --at reads back as local time', async (t) => {
    const { A, B } = roots(t, { x: 'old' });
    await mirrorAt(A, B, T0);
    writeFileSync(join(A, 'x'), 'new');
    await mirrorAt(A, B, T0 + DAY);
    writeFileSync(join(A, 'x'), 'newer');
    await mirrorAt(A, B, T0 + 2 * DAY);
    const tokyo = { TZ: 'Asia/Tokyo' };
    const r = await runCli(['trash', 'list', B], { env: tokyo });
    assert.equal(r.code, 0, r.stderr);
    // 09:30 UTC is 18:30 in Tokyo (UTC+9, no daylight saving).
    const shown = /^(2026-11-03 18:30:00) +file/m.exec(r.stdout)?.[1];
    assert.ok(shown, r.stdout);
    const dest = join(B, '..', 'out');
    const restored = await runCli(['trash', 'restore', B, 'x', '--at', shown, '--to', dest], {
      env: tokyo,
    });
    assert.equal(restored.code, 0, restored.stderr);
    assert.equal(readFileSync(join(dest, 'x'), 'utf8'), 'old');
  });

  test('an empty trash, or none at all, is said so with exit 0', async (t) => {
    const { A, B } = roots(t, { x: 'x' });
    await mirrorAt(A, B, T0);
    const none = await cli(['trash', 'list', B]);
    assert.equal(none.code, 0, none.stderr);
    assert.match(none.stdout, /trash of .* is empty/);
    assert.deepEqual(await listJson(B), []);
    mkdirSync(join(B, '.concord', 'trash'), { recursive: true });
    assert.deepEqual(await listJson(B), []);
  });

  test('a missing ROOT, or a file, exits 2 naming it and the fix', async (t) => {
    const dir = tempDir(t);
    const file = join(dir, 'file');
    writeFileSync(file, 'x');
    for (const [root, why] of [
      [join(dir, 'nope'), 'does not exist'],
      [file, 'is not a directory'],
    ] as const) {
      for (const args of [
        ['list', root],
        ['restore', root, 'x'],
        ['empty', root],
      ]) {
        const r = await cli(['trash', ...args]);
        assertRefused(r, root, why, HAS_FIX);
      }
    }
  });

  test('usage: a missing or unknown trash command, missing arguments, unknown options exit 2', async () => {
    assertRefused(await cli(['trash']), 'trash needs a command', 'concord trash list ROOT');
    assertRefused(await cli(['trash', 'show', '.']), "unknown trash command 'show'");
    assertRefused(await cli(['trash', 'list']), 'trash list needs a ROOT');
    assertRefused(await cli(['trash', 'restore', '.']), 'needs ROOT and PATH');
    assertRefused(await cli(['trash', 'list', '.', '--at', '1d']), 'unknown option --at');
  });
});

describe('concord trash restore', () => {
  test('S7 a file a mirror deleted comes back in place with its content, mode and mtime', async (t) => {
    const { A, B } = roots(t, {
      keep: 'keep',
      'sub/gone.sh': { content: '#!/bin/sh\n', mode: 0o750, mtime: T2 },
    });
    const first = await cli(['mirror', A, B]);
    assert.equal(first.code, 0, first.stderr);
    const before = readTree(B)['sub/gone.sh'];
    rmSync(join(A, 'sub', 'gone.sh'));
    const second = await cli(['mirror', A, B]);
    assert.equal(second.code, 0, second.stderr);
    assert.equal(existsSync(join(B, 'sub', 'gone.sh')), false);
    const r = await cli(['trash', 'restore', B, 'sub/gone.sh']);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /Restored 1 item \(10 B\)/);
    assert.match(r.stdout, /sub\/gone\.sh/);
    assert.deepEqual(readTree(B)['sub/gone.sh'], before);
    assert.deepEqual(before, {
      kind: 'file',
      content: '#!/bin/sh\n',
      mode: 0o750,
      mtimeUs: BigInt(T2) * 1_000_000n,
    });
    assert.deepEqual(await listJson(B), [], 'moved out of the trash, no empty run left');
    assert.deepEqual(trashStamps(B), []);
  });

  test('S7 a file a mirror overwrote: in place it refuses (nothing changed); --to DIR gets the old version', async (t) => {
    const { A, B, dir } = roots(t, { doc: { content: 'version 1', mtime: T1 } });
    assert.equal((await cli(['mirror', A, B])).code, 0);
    makeTree(A, { doc: { content: 'version 2', mtime: T3 } });
    assert.equal((await cli(['mirror', A, B])).code, 0);
    const before = fingerprint(B);
    const refused = await cli(['trash', 'restore', B, 'doc']);
    assertRefused(refused, join(B, 'doc'), 'exists', 'move it away', '--to DIR');
    assert.deepEqual(fingerprint(B), before, 'nothing changed, the trash included');
    const out = join(dir, 'out');
    const r = await cli(['trash', 'restore', B, '/doc', '--to', out]);
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(readTree(out), {
      doc: { kind: 'file', content: 'version 1', mode: 0o644, mtimeUs: BigInt(T1) * 1_000_000n },
    });
    assert.equal(readFileSync(join(B, 'doc'), 'utf8'), 'version 2');
    // Another overwrite; with the current version moved away, the old one comes back in place.
    makeTree(A, { doc: { content: 'version 3', mtime: T1 } });
    assert.equal((await cli(['mirror', A, B])).code, 0);
    renameSync(join(B, 'doc'), join(dir, 'doc.v3'));
    const inPlace = await cli(['trash', 'restore', B, 'doc']);
    assert.equal(inPlace.code, 0, inPlace.stderr);
    assert.deepEqual(readTree(B).doc, {
      kind: 'file',
      content: 'version 2',
      mode: 0o644,
      mtimeUs: BigInt(T3) * 1_000_000n,
    });
  });

  test('S7 a directory: everything under it, empty directories and links too', async (t) => {
    const tree = {
      'd/a': { content: 'aaa', mtime: T1, mode: 0o600 },
      'd/sub/b': { content: 'bb', mtime: T2 },
      'd/sub/link': { link: '../a', mtime: T3 },
      'd/empty/': '',
      other: 'other',
    } as const;
    const { A, B } = roots(t, tree);
    assert.equal((await cli(['mirror', A, B])).code, 0);
    const before = readTree(B);
    rmSync(join(A, 'd'), { recursive: true });
    assert.equal((await cli(['mirror', A, B])).code, 0);
    assert.equal(existsSync(join(B, 'd')), false);
    const r = await cli(['trash', 'restore', B, 'd/']);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /Restored 4 items/);
    const after = readTree(B);
    for (const p of ['d/a', 'd/sub/b', 'd/sub/link', 'other'])
      assert.deepEqual(after[p], before[p], p);
    assert.equal(after['d/empty/']?.kind, 'dir');
    assert.deepEqual(trashStamps(B), []);
  });

  test('S7 refuses, changing nothing, when a file under the directory exists, or a parent is a file', async (t) => {
    const { A, B } = roots(t, { 'd/a': 'aaa', 'd/sub/b': 'bb' });
    assert.equal((await cli(['mirror', A, B])).code, 0);
    rmSync(join(A, 'd'), { recursive: true });
    assert.equal((await cli(['mirror', A, B])).code, 0);
    makeTree(B, { 'd/sub/b': 'made since' });
    const before = fingerprint(B);
    const r = await cli(['trash', 'restore', B, 'd']);
    assertRefused(r, join(B, 'd/sub/b'), 'exists', '--to DIR');
    assert.deepEqual(fingerprint(B), before);
    rmSync(join(B, 'd'), { recursive: true });
    writeFileSync(join(B, 'd'), 'a file where the directory was');
    const again = fingerprint(B);
    assertRefused(await cli(['trash', 'restore', B, '/']), join(B, 'd'), 'exists');
    assert.deepEqual(fingerprint(B), again);
  });

  test('--at picks among versions trashed by different runs; each restore takes the newest left', async (t) => {
    const { A, B, dir } = roots(t, { x: { content: 'v1', mtime: T1 } });
    await mirrorAt(A, B, T0);
    makeTree(A, { x: { content: 'v2', mtime: T2 } });
    await mirrorAt(A, B, T0 + DAY); // trashes v1
    makeTree(A, { x: { content: 'v3', mtime: T3 } });
    await mirrorAt(A, B, T0 + 2 * DAY); // trashes v2
    rmSync(join(A, 'x'));
    await mirrorAt(A, B, T0 + 3 * DAY); // trashes v3
    const at = await cli(['trash', 'restore', B, 'x', '--at', iso(T0 + DAY + 3_600_000)]);
    assert.equal(at.code, 0, at.stderr);
    assert.deepEqual(readTree(B).x, {
      kind: 'file',
      content: 'v1',
      mode: 0o644,
      mtimeUs: BigInt(T1) * 1_000_000n,
    });
    const out = join(dir, 'out');
    assert.equal((await cli(['trash', 'restore', B, 'x', '--to', out])).code, 0);
    assert.equal(readFileSync(join(out, 'x'), 'utf8'), 'v3');
    assert.deepEqual(
      (await listJson(B)).map((i) => [i.path, i.trashedAt]),
      [['x', iso(T0 + 2 * DAY).replace('.000', '')]],
      'v2 is still in the trash',
    );
    const early = await cli(['trash', 'restore', B, 'x', '--at', iso(T0)]);
    assertRefused(
      early,
      'x',
      'at or before 2026-11-02T09:30:00Z',
      'oldest version is from 2026-11-04T09:30:00Z',
    );
    assertRefused(
      await cli(['trash', 'restore', B, 'x', '--at', 'yesterday']),
      "--at 'yesterday'",
      HAS_FIX,
    );
  });

  test('~2: a path trashed twice in one run; the later one comes back first', async (t) => {
    const dir = tempDir(t);
    const root = join(dir, 'R');
    mkdirSync(root);
    const run = runDirName(new Date(T0));
    const ep = new LocalEndpoint({ root, trashDir: join(root, '.concord', 'trash', run) });
    for (const content of ['first', 'second']) {
      writeFileSync(join(root, 'f'), content);
      const seen = await ep.stat('f');
      assert.ok(seen);
      await ep.remove('f', same(seen));
    }
    await ep.close();
    assert.deepEqual(
      (await listJson(root)).map((i) => [i.path, i.storedAs]),
      [
        ['f', `.concord/trash/${run}/f`],
        ['f', `.concord/trash/${run}/f~2`],
      ],
    );
    assert.equal((await cli(['trash', 'restore', root, 'f'])).code, 0);
    assert.equal(readFileSync(join(root, 'f'), 'utf8'), 'second');
    renameSync(join(root, 'f'), join(dir, 'second'));
    assert.equal((await cli(['trash', 'restore', root, 'f'])).code, 0);
    assert.equal(readFileSync(join(root, 'f'), 'utf8'), 'first');
  });

  test('~2 on a name of 254 bytes: the second version is cut to fit 255 bytes (it failed with ENAMETOOLONG), listed and restored under its own name', async (t) => {
    const dir = tempDir(t);
    const root = join(dir, 'R');
    mkdirSync(root);
    const long = `${'é'.repeat(100)}${'n'.repeat(54)}`; // 254 bytes
    const run = runDirName(new Date(T0));
    const ep = new LocalEndpoint({ root, trashDir: join(root, '.concord', 'trash', run) });
    for (const content of ['first', 'second']) {
      writeFileSync(join(root, long), content);
      const seen = await ep.stat(long);
      assert.ok(seen);
      await ep.remove(long, same(seen));
    }
    await ep.close();
    const listed = await listJson(root);
    assert.deepEqual(
      listed.map((i) => i.path),
      [long, long],
    );
    assert.equal(Buffer.byteLength(basename(listed[1]?.storedAs ?? '')), 255);
    assert.equal((await cli(['trash', 'restore', root, long])).code, 0);
    assert.equal(readFileSync(join(root, long), 'utf8'), 'second');
  });

  test('S7 --to on another file system (tmpfs) copies, keeping mode and mtime to the nanosecond', async (t) => {
    const { A, B } = roots(t, {
      'p/f': { content: 'far', mtime: T2, mode: 0o640 },
      'p/l': { link: 'f', mtime: T3 },
    });
    // Nanosecond digits a microsecond utimes would lose.
    const stamps = {
      'p/f': BigInt(T2) * 1_000_000_000n + 123_456_789n,
      'p/l': BigInt(T3) * 1_000_000_000n + 987_654_321n,
    };
    const times = new TimeSetter();
    t.after(() => times.close());
    await times.set(Object.entries(stamps).map(([p, ns]): [string, bigint] => [join(A, p), ns]));
    assert.equal((await cli(['mirror', A, B])).code, 0);
    rmSync(join(A, 'p'), { recursive: true });
    assert.equal((await cli(['mirror', A, B])).code, 0);
    // /dev/shm is a tmpfs on Linux: rename and link across to it fail with EXDEV.
    const far = mkdtempSync(join(existsSync('/dev/shm') ? '/dev/shm' : tmpdir(), 'concord-trash-'));
    t.after(() => rmSync(far, { recursive: true, force: true }));
    const r = await cli(['trash', 'restore', B, 'p', '--to', far]);
    assert.equal(r.code, 0, r.stderr);
    const seen = readTree(far);
    assert.deepEqual(seen['p/f'], {
      kind: 'file',
      content: 'far',
      mode: 0o640,
      mtimeUs: stamps['p/f'] / 1000n,
    });
    assert.deepEqual(seen['p/l'], { kind: 'symlink', target: 'f', mtimeUs: stamps['p/l'] / 1000n });
    for (const [p, ns] of Object.entries(stamps))
      assert.equal(lstatSync(join(far, p), { bigint: true }).mtimeNs, ns, p);
    assert.deepEqual(trashStamps(B), []);
  });

  test('bad input exits 2 and changes nothing: unknown PATH, no trash, --to inside .concord', async (t) => {
    const { A, B } = roots(t, { x: 'x' });
    assert.equal((await cli(['mirror', A, B])).code, 0);
    assertRefused(await cli(['trash', 'restore', B, 'x']), B, 'has no trash', HAS_FIX);
    rmSync(join(A, 'x'));
    assert.equal((await cli(['mirror', A, B])).code, 0);
    const before = fingerprint(B);
    assertRefused(
      await cli(['trash', 'restore', B, 'nope']),
      'nope',
      'is not in the trash',
      'concord trash list',
    );
    assertRefused(await cli(['trash', 'restore', B, '../x']), '../x', HAS_FIX);
    assertRefused(
      await cli(['trash', 'restore', B, 'x', '--to', join(B, '.concord', 'x')]),
      'inside',
      HAS_FIX,
    );
    assert.deepEqual(fingerprint(B), before);
  });
});

/** A second process holding `keys` of the run lock (test/helpers/hold-lock.ts), once it has them. */
async function holder(home: string, keys: string[]): Promise<ChildProcessWithoutNullStreams> {
  const script = join(REPO, 'test', 'helpers', 'hold-lock.ts');
  const child = spawn(process.execPath, ['--import', 'tsx', script, home, ...keys], { cwd: REPO });
  let out = '';
  child.stdout.setEncoding('utf8');
  for await (const chunk of child.stdout) {
    out += chunk;
    if (out.includes('held')) break;
  }
  assert.match(out, /^held \d+\n$/);
  return child;
}

test('S18 restore and empty wait for a sync holding the root, then exit 1 naming it, changing nothing', async (t) => {
  const { A, B, dir } = roots(t, { x: 'x' });
  const home = join(dir, 'home');
  const env = { CONCORD_HOME: home };
  assert.equal((await runCli(['mirror', A, B], { env })).code, 0);
  rmSync(join(A, 'x'));
  assert.equal((await runCli(['mirror', A, B], { env })).code, 0);
  const h = await holder(home, [`path:${realpathSync(B)}`]);
  t.after(() => h.kill('SIGKILL'));
  const before = fingerprint(B);
  for (const args of [
    ['restore', B, 'x'],
    ['empty', B],
  ]) {
    const r = await runCli(['trash', ...args], { env });
    assert.equal(r.code, 1, r.stderr);
    assert.match(r.stderr, new RegExp(`another Concord run is using this root: pid ${h.pid}`));
  }
  assert.deepEqual(fingerprint(B), before);
  h.stdin.end();
  await once(h, 'exit');
  assert.equal((await runCli(['trash', 'restore', B, 'x'], { env })).code, 0);
});

describe('concord trash empty', () => {
  test('--older-than removes the runs trashed before it; without it, all; it prints what it freed', async (t) => {
    const { A, B } = roots(t, { a: 'a', b: 'bb', c: 'ccc' });
    const now = Date.now();
    await mirrorAt(A, B, now - 25 * DAY);
    rmSync(join(A, 'a'));
    await mirrorAt(A, B, now - 25 * DAY);
    rmSync(join(A, 'b'));
    await mirrorAt(A, B, now - 10 * DAY);
    rmSync(join(A, 'c'));
    await mirrorAt(A, B, now);
    assert.deepEqual(
      (await listJson(B)).map((i) => i.path),
      ['a', 'b', 'c'],
    );
    const r = await cli(['trash', 'empty', B, '--older-than', '20d']);
    assert.equal(r.code, 0, r.stderr);
    assert.match(
      r.stdout,
      /Freed 1 item, 1 B: 1 trash run older than 20d removed .*; 2 newer runs kept/,
    );
    assert.deepEqual(
      (await listJson(B)).map((i) => i.path),
      ['b', 'c'],
    );
    const none = await cli(['trash', 'empty', B, '--older-than', '30d']);
    assert.match(none.stdout, /Nothing to free: .* holds no run older than 30d; 2 newer runs kept/);
    const all = await cli(['trash', 'empty', B]);
    assert.equal(all.code, 0, all.stderr);
    assert.match(all.stdout, /Freed 2 items, 5 B: 2 trash runs removed/);
    assert.deepEqual(trashStamps(B), []);
    const empty = await cli(['trash', 'empty', B]);
    assert.match(empty.stdout, /Nothing to free: the trash of .* is empty/);
    assertRefused(
      await cli(['trash', 'empty', B, '--older-than', 'soon']),
      "--older-than 'soon'",
      HAS_FIX,
    );
  });

  test('leaves what is not a run directory alone', async (t) => {
    const { A, B } = roots(t, { a: 'a' });
    await mirrorAt(A, B, T0);
    rmSync(join(A, 'a'));
    await mirrorAt(A, B, T0);
    makeTree(join(B, '.concord', 'trash'), { 'notes.txt': 'mine' });
    const r = await cli(['trash', 'empty', B]);
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(trashStamps(B), ['notes.txt']);
  });
});

describe('expiry: trash older than 30 days goes after every finished run', () => {
  test('mirror: by the run clock, a run exactly 30 days old stays, one a second older goes', async (t) => {
    const { A, B } = roots(t, { a: 'a', b: 'b' });
    await mirrorAt(A, B, T0);
    rmSync(join(A, 'a'));
    await mirrorAt(A, B, T0 + DAY); // trashes a
    rmSync(join(A, 'b'));
    await mirrorAt(A, B, T0 + 20 * DAY); // trashes b
    await mirrorAt(A, B, T0 + 31 * DAY);
    assert.deepEqual(
      (await listJson(B)).map((i) => i.path),
      ['a', 'b'],
      '30 days to the second',
    );
    await mirrorAt(A, B, T0 + 31 * DAY + 1000);
    assert.deepEqual(
      (await listJson(B)).map((i) => i.path),
      ['b'],
    );
    const dry = await syncLocal(A, B, {
      mode: 'mirror',
      now: () => T0 + 90 * DAY,
      workers: false,
      dryRun: true,
    });
    assert.deepEqual(dry.summary.problems, []);
    assert.deepEqual(
      (await listJson(B)).map((i) => i.path),
      ['b'],
      'a dry run expires nothing',
    );
    await mirrorAt(A, B, T0 + 90 * DAY);
    assert.deepEqual(trashStamps(B), []);
  });

  test('two-way: both roots expire their own trash', async (t) => {
    // Five files: deleting one on each side stays under the two-way guard (half of a side).
    const { A, B } = roots(t, { a: 'a', b: 'b', c: 'c', d: 'd', e: 'e' });
    const at = (ms: number) => syncTwoWayLocal(A, B, { now: () => ms, workers: false });
    await at(T0);
    rmSync(join(A, 'a'));
    rmSync(join(B, 'b'));
    const r = await at(T0 + DAY);
    assert.deepEqual(r.summary.problems, []);
    assert.deepEqual(
      (await listJson(B)).map((i) => i.path),
      ['a'],
    );
    assert.deepEqual(
      (await listJson(A)).map((i) => i.path),
      ['b'],
    );
    await at(T0 + 31 * DAY);
    assert.deepEqual(
      (await listJson(B)).map((i) => i.path),
      ['a'],
    );
    assert.deepEqual(
      (await listJson(A)).map((i) => i.path),
      ['b'],
    );
    await at(T0 + 32 * DAY);
    assert.deepEqual(await listJson(A), []);
    assert.deepEqual(await listJson(B), []);
  });

  test('a trash run that cannot be removed is a problem of the run (exit 3), not a failed run', async (t) => {
    const { A, B, dir } = roots(t, { a: 'a' }, { a: 'a' });
    const old = runDirName(new Date(Date.now() - 40 * DAY));
    makeTree(join(B, '.concord', 'trash', old), { 'stuck/f': 'old' });
    const as = prepareForNobody(dir);
    chmodSync(join(B, '.concord', 'trash', old, 'stuck'), 0o555);
    const r = await cli(['mirror', A, B, '--json'], as);
    assert.equal(r.code, 3, r.stderr);
    assert.deepEqual(problemsOf(r), [{ path: '.concord/trash', code: 'write-failed' }]);
    assert.match(String((summaryOf(r).problems as { message: string }[])[0]?.message), /EACCES/);
    assert.deepEqual(contents(B), contents(A));
  });
});

test('S7 restored in a two-way root, a file deleted everywhere comes back on both sides', async (t) => {
  const { A, B } = roots(t, { keep: 'k', 'docs/f': { content: 'f', mtime: T2 } });
  assert.equal((await cli(['sync', A, B])).code, 0);
  rmSync(join(A, 'docs', 'f'));
  assert.equal((await cli(['sync', A, B])).code, 0);
  assert.equal(existsSync(join(B, 'docs', 'f')), false);
  const r = await cli(['trash', 'restore', B, 'docs/f']);
  assert.equal(r.code, 0, r.stderr);
  assert.equal((await cli(['sync', A, B])).code, 0);
  for (const root of [A, B])
    assert.deepEqual(readTree(root)['docs/f'], {
      kind: 'file',
      content: 'f',
      mode: 0o644,
      mtimeUs: BigInt(T2) * 1_000_000n,
    });
});
