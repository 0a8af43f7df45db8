/**
 * `concord pair add|list|remove|forget` and `concord sync NAME`, through the built CLI: markers,
 * what list shows after a sync, the ancestor a one-off sync leaves (kept when the pair is
 * named), forget (the next sync is a first sync: S13), remembered options, and bad input.
 */
import assert from 'node:assert/strict';
import { existsSync, readFileSync, realpathSync, unlinkSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import {
  assertRefused,
  cli,
  contents,
  counts,
  fingerprint,
  HAS_FIX,
  makeTree,
  put,
  type Roots,
  roots,
  type Spec,
  summaryOf,
  T1,
  T2,
  T3,
  trashed,
  trashStamps,
} from './helpers.ts';

type Ctx = Parameters<typeof roots>[0];

const TREE: Spec = {
  'a.txt': { content: 'a', mtime: T1 },
  'b.txt': { content: 'bb', mtime: T1 },
  'sub/c.txt': { content: 'ccc', mtime: T1 },
};

interface Listed {
  name: string | null;
  a: string;
  b: string;
  mode: string;
  options: Record<string, unknown>;
  lastSync: string | null;
  lastOutcome: string | null;
  entries: number;
}

async function listJson(): Promise<Listed[]> {
  const r = await cli(['pair', 'list', '--json']);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stderr, '');
  return JSON.parse(r.stdout) as Listed[];
}

/** The listed pair whose A root is `A` (other tests' pairs share the state home). */
async function listedAt(A: string): Promise<Listed[]> {
  const real = realpathSync(A);
  return (await listJson()).filter((p) => p.a === real || p.b === real);
}

/** A pair name no other test uses (the tests share one CONCORD_HOME). */
let serial = 0;
const fresh = (stem: string) => `${stem}-${process.pid}-${++serial}`;

async function added(t: Ctx, extra: string[] = []): Promise<Roots & { name: string }> {
  const r = roots(t, TREE);
  const name = fresh('docs');
  const add = await cli(['pair', 'add', name, r.A, r.B, ...extra]);
  assert.equal(add.code, 0, add.stderr);
  return { ...r, name };
}

describe('concord pair add / list / sync NAME', () => {
  test('pair add writes both markers (making B), copies nothing; list shows it never synced', async (t) => {
    const { A, B } = roots(t, TREE);
    const name = fresh('docs');
    const r = await cli(['pair', 'add', name, A, B]);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stderr, '');
    assert.ok(r.stdout.includes(name) && r.stdout.includes(`concord sync ${name}`), r.stdout);
    for (const root of [A, B])
      assert.match(readFileSync(join(root, '.concord', 'root-id'), 'utf8'), /^[0-9a-f]{16,}\s*$/);
    assert.notEqual(
      readFileSync(join(A, '.concord', 'root-id'), 'utf8'),
      readFileSync(join(B, '.concord', 'root-id'), 'utf8'),
    );
    assert.deepEqual(contents(B), {}, 'pair add syncs nothing');

    const [p, ...others] = await listedAt(A);
    assert.equal(others.length, 0);
    assert.deepEqual(p, {
      name,
      a: realpathSync(A),
      b: realpathSync(B),
      mode: 'two-way',
      options: p?.options,
      lastSync: null,
      lastOutcome: null,
      entries: 0,
    });
    const text = await cli(['pair', 'list']);
    assert.equal(text.code, 0, text.stderr);
    const row = text.stdout.split('\n').find((l) => l.startsWith(`${name} `));
    assert.ok(row, text.stdout);
    assert.match(row, /\btwo-way\s+never\s+-\s+/);
    assert.ok(row.endsWith(`${realpathSync(A)} <-> ${realpathSync(B)}`), row);
  });

  test('a one-way pair may keep B inside A when its rules leave B out; a two-way pair may not', async (t) => {
    const { A } = roots(t, TREE);
    const B = join(A, 'backup');
    const name = fresh('inside');
    const plain = await cli(['pair', 'add', name, A, B, '--mode', 'mirror']);
    assertRefused(plain, B, 'lies inside the source', '--exclude /backup', HAS_FIX);
    const add = await cli(['pair', 'add', name, A, B, '--mode', 'mirror', '--exclude', '/backup']);
    assert.equal(add.code, 0, add.stderr);
    for (let i = 0; i < 2; i++) {
      const r = await cli(['sync', name]);
      assert.equal(r.code, 0, r.stderr);
    }
    assert.equal(readFileSync(join(B, 'sub', 'c.txt'), 'utf8'), 'ccc');
    assert.equal(existsSync(join(B, 'backup')), false, 'never a copy of B inside B');
    const tw = await cli(['pair', 'add', fresh('inside-tw'), A, join(A, 'tw'), '--exclude', '/tw']);
    assertRefused(tw, join(A, 'tw'), 'lies inside the source', HAS_FIX);
    assert.equal(existsSync(join(A, 'tw')), false);
  });

  test('sync NAME syncs the pair; list (and --json) shows when, and the outcome', async (t) => {
    const { A, B, name } = await added(t);
    const before = Date.now();
    const r = await cli(['sync', name, '--json']);
    const after = Date.now();
    assert.equal(r.code, 0, r.stderr);
    assert.equal(summaryOf(r).created, 4);
    assert.deepEqual(contents(B), contents(A));

    const [p] = await listedAt(A);
    assert.equal(p?.lastOutcome, 'in sync');
    const when = Date.parse(p?.lastSync as string);
    assert.match(p?.lastSync as string, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{3})?Z$/);
    assert.ok(when >= before - 1000 && when <= after, `${p?.lastSync} within the run`);
    assert.equal(p?.entries, 4, 'the ancestor: a.txt, b.txt, sub, sub/c.txt');

    const text = await cli(['pair', 'list']);
    const row = text.stdout.split('\n').find((l) => l.startsWith(`${name} `)) as string;
    assert.ok(row, text.stdout);
    const shown = /\btwo-way\s+(\S+)\s+in sync\s+/.exec(row);
    assert.ok(shown, row);
    assert.equal(Date.parse(shown[1] as string), when);

    // A run that is refused (a prompt with no terminal) is recorded as failed, with why.
    put(A, 'a.txt', 'a on A', T3);
    put(B, 'a.txt', 'a on B', T2);
    const refused = await cli(['sync', name, '--conflict', 'prompt']);
    assert.equal(refused.code, 2, refused.stderr);
    const [q] = await listedAt(A);
    assert.match(q?.lastOutcome as string, /^failed: 1 conflict needs a decision/);
  });

  test('plan NAME works on the pair and writes nothing', async (t) => {
    const { dir, A, name } = await added(t);
    const before = fingerprint(dir);
    const r = await cli(['plan', name]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /first sync: a merge/);
    assert.ok(r.stdout.includes('on B: copy a.txt from A'), r.stdout);
    assert.deepEqual(fingerprint(dir), before);
    assert.equal((await listedAt(A))[0]?.lastSync, null);
  });

  test('a one-off sync A B, then pair add on the same roots: the pair keeps its ancestor (not a first run)', async (t) => {
    const { A, B } = roots(t, TREE);
    const first = await cli(['sync', A, B]);
    assert.equal(first.code, 0, first.stderr);
    const oneOff = await listedAt(A);
    assert.equal(oneOff.length, 1);
    assert.equal(oneOff[0]?.name, null, 'a one-off pair has no name');
    assert.equal(oneOff[0]?.entries, 4);

    unlinkSync(join(A, 'b.txt'));
    const name = fresh('named');
    const add = await cli(['pair', 'add', name, A, B]);
    assert.equal(add.code, 0, add.stderr);
    const listed = await listedAt(A);
    assert.equal(listed.length, 1, 'one pair for these roots: the one-off got the name');
    assert.equal(listed[0]?.name, name);
    assert.equal(listed[0]?.entries, 4);

    const plan = await cli(['plan', name]);
    assert.doesNotMatch(plan.stdout, /first sync/);
    assert.ok(
      plan.stdout.includes('on B: delete b.txt: deleted on A since the last sync'),
      plan.stdout,
    );
    const r = await cli(['sync', name, '--json']);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(counts(r).deleted, 1);
    assert.equal(existsSync(join(B, 'b.txt')), false, 'the deletion propagated');
    assert.deepEqual(trashed(B), { 'b.txt': 'bb' });
    assert.deepEqual(contents(B), contents(A));
  });

  test('pair add B A on roots a one-off synced as A B: refused (the pair keeps the order of its ancestor), nothing changed; in that order it works', async (t) => {
    const { dir, A, B } = roots(t, TREE);
    assert.equal((await cli(['sync', A, B])).code, 0);
    const name = fresh('reversed');
    const before = fingerprint(dir);
    // Taking the name silently in the old order made the pair's "source" (for keep-source,
    // and "on A" in its plans) the opposite of what this command line says.
    const refused = await cli(['pair', 'add', name, B, A, '--conflict', 'keep-source']);
    assertRefused(
      refused,
      `these roots were synced as ${realpathSync(A)} <-> ${realpathSync(B)}`,
      `concord pair add ${name} ${realpathSync(A)} ${realpathSync(B)}`,
      HAS_FIX,
    );
    assert.deepEqual(fingerprint(dir), before);
    const [p] = await listedAt(A);
    assert.equal(p?.name, null, 'still the unnamed one-off pair');

    // In the order given by the message: keep-destination makes B win, the ancestor is kept.
    const ok = await cli(['pair', 'add', name, A, B, '--conflict', 'keep-destination']);
    assert.equal(ok.code, 0, ok.stderr);
    put(A, 'a.txt', 'edited in A', T3);
    put(B, 'a.txt', 'edited in B', T2);
    unlinkSync(join(B, 'sub', 'c.txt'));
    const r = await cli(['sync', name, '--json']);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(counts(r).conflicts, 1);
    assert.deepEqual(contents(A)['a.txt'], { kind: 'file', content: 'edited in B' });
    assert.deepEqual(trashed(A), { 'a.txt': 'edited in A', 'sub/c.txt': 'ccc' });
    assert.equal(
      existsSync(join(A, 'sub', 'c.txt')),
      false,
      'ancestor kept: the deletion propagated',
    );
    assert.deepEqual(contents(A), contents(B));
  });

  test('pair forget: the next sync is a first sync, a merge that deletes nothing (S13)', async (t) => {
    const { A, B, name } = await added(t);
    assert.equal((await cli(['sync', name])).code, 0);
    unlinkSync(join(A, 'a.txt'));
    const forget = await cli(['pair', 'forget', name]);
    assert.equal(forget.code, 0, forget.stderr);
    assert.match(forget.stdout, /first sync/);
    const [p] = await listedAt(A);
    assert.equal(p?.entries, 0);
    assert.equal(p?.name, name, 'the pair itself stays');

    const plan = await cli(['plan', name]);
    assert.match(plan.stdout, /first sync: a merge, nothing is deleted/);
    const r = await cli(['sync', name, '--json']);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(counts(r).deleted, 0);
    assert.deepEqual(contents(A)['a.txt'], { kind: 'file', content: 'a' }, 'restored from B');
    assert.deepEqual(contents(A), contents(B));
    assert.deepEqual(trashStamps(A), []);
    assert.deepEqual(trashStamps(B), []);
  });

  test('pair forget A B and pair remove A B: the pair of a one-off sync, found by its roots (S13)', async (t) => {
    const { A, B } = roots(t, TREE);
    assert.equal((await cli(['sync', A, B])).code, 0);
    unlinkSync(join(A, 'a.txt'));
    const forget = await cli(['pair', 'forget', A, B]);
    assert.equal(forget.code, 0, forget.stderr);
    assert.match(forget.stdout, /first sync/);
    const r = await cli(['sync', A, B, '--json']);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(counts(r).deleted, 0, 'a merge deletes nothing');
    assert.deepEqual(contents(A)['a.txt'], { kind: 'file', content: 'a' }, 'restored from B');
    const rm = await cli(['pair', 'remove', B, A]);
    assert.equal(rm.code, 0, rm.stderr);
    assert.deepEqual(await listedAt(A), []);
    assertRefused(
      await cli(['pair', 'forget', A, join(A, '..', 'nowhere')]),
      'no .concord/root-id marker',
      HAS_FIX,
    );
  });

  test('pair remove: gone from the list, roots untouched; sync NAME is then an unknown pair', async (t) => {
    const { dir, A, name } = await added(t);
    assert.equal((await cli(['sync', name])).code, 0);
    const before = fingerprint(dir);
    const r = await cli(['pair', 'remove', name]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /removed/);
    assert.deepEqual(await listedAt(A), []);
    assert.deepEqual(fingerprint(dir), before);
    assertRefused(await cli(['sync', name]), `no pair named '${name}'`, HAS_FIX);
  });

  test('remembered options apply to sync NAME; the command line wins over them', async (t) => {
    const { A, B, name } = await added(t, ['--conflict', 'keep-destination', '--exclude', '*.log']);
    put(A, 'debug.log', 'noise', T1);
    assert.equal((await cli(['sync', name])).code, 0);
    assert.equal(existsSync(join(B, 'debug.log')), false, '--exclude remembered');
    put(A, 'a.txt', 'A1', T3);
    put(B, 'a.txt', 'B1', T2);
    assert.equal((await cli(['sync', name])).code, 0);
    assert.deepEqual(contents(A)['a.txt'], { kind: 'file', content: 'B1' }, 'keep-destination');
    put(A, 'a.txt', 'A2', T3 + 10);
    put(B, 'a.txt', 'B2', T3 + 5);
    assert.equal((await cli(['sync', name, '--conflict', 'keep-source'])).code, 0);
    assert.deepEqual(
      contents(B)['a.txt'],
      { kind: 'file', content: 'A2' },
      'the command line wins',
    );
  });
  test('a backup pair: sync NAME backs up, keeps the replaced version and applies the remembered --keep-last (S25, S26)', async (t) => {
    const { A, B, name } = await added(t, ['--mode', 'backup', '--keep-last', '1']);
    assert.equal((await cli(['sync', name])).code, 0);
    for (const [content, mtime] of [
      ['v2', T2],
      ['v3', T3],
    ] as const) {
      put(A, 'a.txt', content, mtime);
      const r = await cli(['sync', name]);
      assert.equal(r.code, 0, r.stderr);
    }
    assert.deepEqual(contents(B)['a.txt'], { kind: 'file', content: 'v3' });
    const v = await cli(['versions', B, 'a.txt', '--json']);
    assert.equal(v.code, 0, v.stderr);
    const states = (JSON.parse(v.stdout) as { state: string }[]).map((x) => x.state).sort();
    // v1 was pruned by --keep-last 1; v2 is kept, v3 is current.
    assert.deepEqual(states, ['current', 'kept']);
    const listed = await listedAt(A);
    assert.equal(listed[0]?.mode, 'backup');
  });
});

describe('pair: bad input is refused with one line (exit 2)', () => {
  test('an unknown pair name: sync, plan, remove, forget', async () => {
    const name = fresh('nosuch');
    for (const args of [
      ['sync', name],
      ['plan', name],
      ['pair', 'remove', name],
      ['pair', 'forget', name],
    ])
      assertRefused(await cli(args), `no pair named '${name}'`, 'concord pair list', HAS_FIX);
  });

  test('a name in use: refused, and the other roots are not touched', async (t) => {
    const { dir, name } = await added(t);
    const C = join(dir, 'C');
    const D = join(dir, 'D');
    makeTree(C, { 'x.txt': 'x' });
    const before = fingerprint(C);
    assertRefused(
      await cli(['pair', 'add', name, C, D]),
      `a pair named '${name}' exists already`,
      HAS_FIX,
    );
    assert.deepEqual(fingerprint(C), before, 'no marker written');
    assert.equal(existsSync(D), false);
  });

  test('the same roots under a second name (either order): refused, naming the pair they are', async (t) => {
    const { A, B, name } = await added(t);
    for (const [x, y] of [
      [A, B],
      [B, A],
    ] as const)
      assertRefused(
        await cli(['pair', 'add', fresh('again'), x, y]),
        `these roots are pair '${name}' already`,
        `concord sync ${name}`,
      );
    assert.equal((await listedAt(A)).length, 1);
  });

  test('bad names', async (t) => {
    const { A, B } = roots(t, TREE);
    for (const bad of ['bad/name', 'with space', '.hidden', 'x'.repeat(65)])
      assertRefused(await cli(['pair', 'add', bad, A, B]), `'${bad}' is not a pair name`, HAS_FIX);
    assert.equal(existsSync(join(A, '.concord')), false);
    assert.equal(existsSync(B), false);
  });

  test('unknown policies, modes and arguments', async (t) => {
    const { A, B } = roots(t, TREE);
    const name = fresh('bad');
    assertRefused(
      await cli(['pair', 'add', name, A, B, '--conflict', 'keep-mine']),
      "unknown --conflict policy 'keep-mine'",
      'keep-both',
    );
    assertRefused(
      await cli(['pair', 'add', name, A, B, '--conflict-fallback', 'prompt']),
      "unknown --conflict-fallback policy 'prompt'",
    );
    assertRefused(
      await cli(['sync', A, B, '--conflict', 'keep-mine']),
      "unknown --conflict policy 'keep-mine'",
    );
    assertRefused(
      await cli(['pair', 'add', name, A, B, '--mode', 'archive']),
      "unknown mode 'archive'",
    );
    assertRefused(
      await cli(['pair', 'add', name, A, B, '--keep-last', '3']),
      '--keep-last, --keep-within and --keep-staggered do not go with mode two-way',
    );
    assertRefused(
      await cli(['pair', 'add', name, A, B, '--mode', 'backup', '--conflict', 'keep-newer']),
      '--conflict does not go with mode backup',
    );
    assertRefused(await cli(['pair', 'add', name, A, B, '--max-delete', 'lots']), '--max-delete');
    assertRefused(
      await cli(['pair', 'add', name, A]),
      'pair add needs a name and two roots',
      HAS_FIX,
    );
    assertRefused(await cli(['pair', 'add', name, A, B, '--frob']), 'unknown option --frob');
    assertRefused(await cli(['pair']), 'pair needs a subcommand', HAS_FIX);
    assertRefused(await cli(['pair', 'rename', name]), "unknown pair subcommand 'rename'", HAS_FIX);
    assertRefused(await cli(['pair', 'list', 'extra']), 'pair list takes no arguments');
    assertRefused(await cli(['pair', 'remove']), "pair remove needs the pair's name", HAS_FIX);
    // Nothing was made by any of it.
    assert.equal(existsSync(join(A, '.concord')), false);
    assert.equal(existsSync(B), false);
    assert.deepEqual(
      (await listJson()).filter((p) => p.name === name),
      [],
    );
  });
});
