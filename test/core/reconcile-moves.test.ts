/**
 * Table tests of two-way move detection (src/core/twoway-moves.ts) over what reconcileDir plans
 * for the directories involved. Every row checks S24: a move stands only where it gives the
 * final state of the deletion plus the creation it replaces, and anything else stays planned as
 * it was (never a loss, at worst a copy). Rows are also run with A and B swapped (S11).
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { Entry } from '../../src/core/entry.ts';
import {
  type Base,
  other,
  type Record,
  reconcileDir,
  type Side,
  type TwoWayOp,
} from '../../src/core/reconcile.ts';
import {
  applyMoves,
  confirmed,
  confirmedBoth,
  hashesWanted,
  moveCandidates,
  movedOnBoth,
} from '../../src/core/twoway-moves.ts';
import { dir, file, link, show } from './fixtures.ts';

const OPTS = { mtimeToleranceNs: 0n, checksum: false };

/** An entry with an inode (and a hash, for files whose content a row names). */
const on = (e: Entry, ino: number, hash?: string): Entry => ({
  ...e,
  ino: BigInt(ino),
  ...(hash ? { hash } : {}),
});

/** The ancestor row of `e`: A's copy had inode `inoA`, B's `inoB`. */
function row(e: Entry, inoA: number, inoB: number, hash?: string): Base {
  const b: Base = { name: e.name, kind: e.kind, size: e.size, mtimeNs: e.mtimeNs, mode: e.mode };
  if (e.target !== undefined) b.target = e.target;
  if (hash !== undefined) b.hash = hash;
  b.stampA = { ino: BigInt(inoA), ctimeNs: 0n };
  b.stampB = { ino: BigInt(inoB), ctimeNs: 0n };
  return b;
}

interface Dir {
  dir: string;
  base?: Base[];
  a?: Entry[] | undefined;
  b?: Entry[] | undefined;
}

/** What the engine collects from the directories, in walk order. */
function decide(dirs: Dir[]): { ops: TwoWayOp[]; records: Record[] } {
  const ops: TwoWayOp[] = [];
  const records: Record[] = [];
  for (const d of dirs) {
    const out = reconcileDir({
      dir: d.dir,
      base: d.base ?? [],
      a: d.a,
      b: d.b,
      protectedNames: new Set(),
      opts: OPTS,
    });
    assert.deepEqual(out.needsHash, { A: [], B: [] }, `${d.dir}: decided without hashing`);
    ops.push(...out.ops);
    records.push(...out.records);
  }
  return { ops, records };
}

const showOp = (o: TwoWayOp) =>
  `${o.side} ${show(o)}${o.from ? ` <- ${o.from}` : ''}${o.record ? ` +${o.record.type}` : ''}`;

/** Candidates confirmed as the engine does once it hashed what they want, then applied. */
function moved(dirs: Dir[], troubled: string[] = []) {
  const { ops, records } = decide(dirs);
  const found = moveCandidates(ops, troubled);
  const plan = applyMoves(ops, found.filter(confirmed), { mtimeToleranceNs: 0n });
  return { found, plan, ops: plan.ops.map(showOp), records, before: ops.map(showOp) };
}

/** The same directories with A and B swapped. */
function swapped(dirs: Dir[]): Dir[] {
  return dirs.map((d) => ({
    dir: d.dir,
    ...(d.base
      ? {
          base: d.base.map((b) => {
            const { stampA, stampB, ...rest } = b;
            return {
              ...rest,
              ...(stampB ? { stampA: stampB } : {}),
              ...(stampA ? { stampB: stampA } : {}),
            };
          }),
        }
      : {}),
    a: d.b,
    b: d.a,
  }));
}

const mirrorLine = (l: string) => l.replace(/^[AB]/, (s) => other(s as Side));

/** Checks a row, and (S11) that the swapped row gives the mirrored operations. */
function row11(dirs: Dir[], want: string[], troubled: string[] = []) {
  const got = moved(dirs, troubled);
  assert.deepEqual(got.ops, want);
  assert.deepEqual(moved(swapped(dirs), troubled).ops, want.map(mirrorLine), 'S11: mirrored');
  return got;
}

const f = file('f', { size: 4 });
const g = file('g', { size: 4 });

describe('two-way moves (S24)', () => {
  test('S24: a file renamed on A, content confirmed by the ancestor hash: one rename on B, the ancestor re-keyed', () => {
    const got = row11(
      [{ dir: '', base: [row(f, 1, 2, 'h')], a: [on(g, 1, 'h')], b: [on(f, 2)] }],
      ['B Write move g moved same <- f +move'],
    );
    const move = got.plan.ops[0] as TwoWayOp;
    assert.equal(move.why, 'moved on A since the last sync');
    assert.equal(move.pre.type === 'same' && move.pre.entry.ino, 2n, "B's own copy, unchanged");
    const rec = move.record;
    assert.ok(rec?.type === 'move' && rec.from === 'f' && rec.base?.stampA?.ino === 1n);
  });

  test('S24: inode reused by other content (same size): no move, the deletion and the copy stay', () => {
    const got = row11(
      [{ dir: '', base: [row(f, 1, 2, 'h')], a: [on(g, 1, 'other')], b: [on(f, 2)] }],
      ['B Delete delete f deleted same +drop', 'B Write copy g new absent +put'],
    );
    assert.equal(got.found.length, 1, 'a candidate by inode, refused by content');
  });

  test('S24: inode reused by a file of another size: not even a candidate', () => {
    const got = moved([
      { dir: '', base: [row(f, 1, 2, 'h')], a: [on(file('g', { size: 9 }), 1)], b: [on(f, 2)] },
    ]);
    assert.deepEqual(got.found, []);
    assert.deepEqual(got.ops, got.before);
  });

  test('S24: without an ancestor hash, both copies are hashed and must agree', () => {
    const dirs = [{ dir: '', base: [row(f, 1, 2)], a: [on(g, 1)], b: [on(f, 2)] }];
    const { ops } = decide(dirs);
    const [c] = moveCandidates(ops, []);
    assert.ok(c);
    assert.deepEqual(hashesWanted(c), { here: true, there: true });
    assert.equal(confirmed(c), false, 'unhashed: unconfirmed');
    c.here.hash = 'x';
    c.there.hash = 'y';
    assert.equal(confirmed(c), false, 'different content');
    c.there.hash = 'x';
    assert.equal(confirmed(c), true);
  });

  test("S9 S24: renamed on A, modified on B: no move; B's version comes back to A, A's new name goes to B", () => {
    row11(
      [
        {
          dir: '',
          base: [row(f, 1, 2, 'h')],
          a: [on(g, 1, 'h')],
          b: [on(file('f', { size: 7, mtime: 200 }), 2)],
        },
      ],
      ['A Write copy f new absent +put', 'B Write copy g new absent +put'],
    );
  });

  test('S24: the new name is taken on B: no move (never a replace); the deletion goes on', () => {
    const got = moved([
      {
        dir: '',
        base: [row(f, 1, 2, 'h')],
        a: [on(g, 1, 'h')],
        b: [on(f, 2), on(file('g', { size: 5 }), 3)],
      },
    ]);
    assert.deepEqual(got.found, []);
  });

  test('S24: a file moved into a new directory: the directory is made first, then the rename', () => {
    row11(
      [
        { dir: '', base: [row(f, 1, 2, 'h')], a: [on(dir('n'), 7)], b: [on(f, 2)] },
        { dir: 'n', a: [on(g, 1, 'h')], b: undefined },
      ],
      [
        'B Write mkdir n new absent',
        'B DirTimes set-meta n dir-times dir +put',
        'B Write move n/g moved same <- f +move',
      ],
    );
  });

  test('S24: times or mode changed with the rename: the rename, then its metadata set', () => {
    row11(
      [
        {
          dir: '',
          base: [row(f, 1, 2, 'h')],
          a: [on(file('g', { size: 4, mode: 0o600 }), 1, 'h')],
          b: [on(f, 2)],
        },
      ],
      ['B Write move g moved same <- f +move', 'B Write set-meta g metadata same +put'],
    );
  });

  test('S24: a symlink renamed: a move when the target is the same', () => {
    const l = link('l', 't');
    row11(
      [{ dir: '', base: [row(l, 1, 2)], a: [on(link('m', 't'), 1)], b: [on(l, 2)] }],
      ['B Write move m moved same <- l +move'],
    );
  });
});

describe('two-way directory moves (S24, S20)', () => {
  const d = dir('d');
  const x = file('x', { size: 4 });
  const y = file('y', { size: 4 });
  /** d/ renamed e/ on A; what A holds in e/ and B in d/ is given. */
  const renamedDir = (inE: Entry[], inD: Entry[], ancD = [row(x, 11, 21), row(y, 12, 22)]) => [
    { dir: '', base: [row(d, 5, 6)], a: [on(dir('e'), 5)], b: [on(d, 6)] },
    { dir: 'd', base: ancD, a: undefined, b: inD },
    { dir: 'e', a: inE, b: undefined },
  ];

  test('S24: a directory renamed on A is ONE rename on B; its times are still set from A', () => {
    const got = row11(renamedDir([on(x, 11), on(y, 12)], [on(x, 21), on(y, 22)]), [
      'B Write move e moved same <- d +move',
      'B DirTimes set-meta e dir-times dir +put',
    ]);
    assert.equal(got.plan.dirs.length, 1, 'reconciled again once moved');
    assert.deepEqual(got.plan.laterDeletes, { A: 0, B: 0 });
  });

  test('S20 S24: a child deleted inside the renamed directory: the second look deletes it, counted now', () => {
    const got = row11(renamedDir([on(x, 11)], [on(x, 21), on(y, 22)]), [
      'B Write move e moved same <- d +move',
      'B DirTimes set-meta e dir-times dir +put',
    ]);
    assert.deepEqual(got.plan.laterDeletes, { A: 0, B: 1 });
  });

  test('S10 S24: a child changed on B inside the directory A renamed: no directory move, the change kept', () => {
    const got = moved(
      renamedDir([on(x, 11), on(y, 12)], [on(x, 21), on(file('y', { size: 8, mtime: 300 }), 22)]),
    );
    assert.deepEqual(
      got.found.map((c) => `${c.from} -> ${c.to}`),
      ['d/x -> e/x'],
      'only the unchanged child is a candidate',
    );
    assert.ok(got.ops.includes('A Write copy d/y new absent +put'), "B's change goes back to A");
  });

  test('S17 S24: a problem below either name: no directory move', () => {
    const got = moved(renamedDir([on(x, 11), on(y, 12)], [on(x, 21), on(y, 22)]), ['d/x']);
    assert.ok(got.found.every((c) => c.here.kind !== 'dir'));
  });

  test('S24: a file moved out of a renamed directory is left to a copy (nested in the directory move)', () => {
    const dirs = [
      {
        dir: '',
        base: [row(d, 5, 6)],
        a: [on(dir('e'), 5), on(file('z', { size: 4 }), 11)],
        b: [on(d, 6)],
      },
      { dir: 'd', base: [row(x, 11, 21), row(y, 12, 22)], a: undefined, b: [on(x, 21), on(y, 22)] },
      { dir: 'e', a: [on(y, 12)], b: undefined },
    ];
    const got = moved(dirs);
    assert.deepEqual(
      got.found.map((c) => `${c.from} -> ${c.to}`),
      ['d -> e'],
    );
  });

  test('S24: a directory inode reused by an unrelated directory (no entry below kept its inode): no move', () => {
    const got = moved(renamedDir([on(x, 31), on(y, 32)], [on(x, 21), on(y, 22)]));
    assert.deepEqual(got.found, []);
    assert.deepEqual(got.ops, got.before);
  });

  test('S24: an empty directory renamed: a move (nothing below to confirm, nothing to lose)', () => {
    const got = moved(renamedDir([], [], []));
    assert.deepEqual(got.ops, [
      'B Write move e moved same <- d +move',
      'B DirTimes set-meta e dir-times dir +put',
    ]);
  });
});

describe('moved on both sides differently (S6, S7)', () => {
  test('S6: both sides renamed f, to g on A and to h on B: one conflict naming both, both copies stay', () => {
    const h = file('h', { size: 4 });
    const { ops, records } = decide([
      { dir: '', base: [row(f, 1, 2, 'hash')], a: [on(g, 1)], b: [on(h, 2)] },
    ]);
    assert.deepEqual(ops.map(showOp), [
      'B Write copy g new absent +put',
      'A Write copy h new absent +put',
    ]);
    const both = movedOnBoth(ops, records);
    assert.equal(both.length, 1);
    const m = both[0];
    assert.ok(m);
    assert.deepEqual(m.conflict.moved, { a: 'g', b: 'h' });
    assert.equal(m.conflict.path, 'f');
    assert.equal(confirmedBoth(m), false, 'unhashed');
    m.conflict.a.hash = 'hash';
    m.conflict.b.hash = 'hash';
    assert.equal(confirmedBoth(m), true);
    m.conflict.b.hash = 'other';
    assert.equal(confirmedBoth(m), false, 'one side rewrote it: no move of the same file');
  });
});
