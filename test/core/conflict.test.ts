/**
 * Conflict policies (src/core/conflict.ts): what each policy chooses, and the operations a
 * choice becomes. keep-both keeps the older version beside the newer on both roots as
 * `<stem>.conflict-<A|B>-<YYYYMMDD-HHMMSS><ext>` (its side, its mtime in UTC), numbered
 * `-2`, `-3`... when that name is taken, never colliding (S26). A copy that would pass 255
 * bytes of UTF-8 loses the end of its stem, whole code points at a time.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import { type Choice, choose, POLICIES, type Policy, resolve } from '../../src/core/conflict.ts';
import type { Entry } from '../../src/core/entry.ts';
import { join, type RelPath } from '../../src/core/path.ts';
import { ABSENT, Phase, same } from '../../src/core/plan.ts';
import {
  type Base,
  type Conflict,
  conflictName,
  fitName,
  other,
  reconcileDir,
  type Side,
  type TwoWayOp,
} from '../../src/core/reconcile.ts';
import { file, link, ns } from './fixtures.ts';

/** 2026-11-20T09:30:15Z and ten minutes later. */
const T1 = 1_795_167_015;
const T2 = T1 + 600;
const STAMP1 = '20261120-093015';
const STAMP2 = '20261120-094015';

function conflict(
  a: Entry,
  b: Entry,
  p: { dir?: RelPath; taken?: string[]; base?: Base } = {},
): Conflict {
  const dir = p.dir ?? '';
  return {
    dir,
    name: a.name,
    path: join(dir, a.name),
    a,
    b,
    base: p.base,
    changeA: 'content',
    changeB: 'content',
    taken: new Set([a.name, ...(p.taken ?? [])]),
  };
}

const swap = (c: Conflict): Conflict => ({
  ...c,
  a: c.b,
  b: c.a,
  changeA: c.changeB,
  changeB: c.changeA,
  taken: new Set(c.taken),
});

type Auto = Exclude<Policy, 'prompt'>;
const AUTO = POLICIES.filter((p): p is Auto => p !== 'prompt');
const mirrorPolicy = (p: Auto): Auto =>
  p === 'keep-source' ? 'keep-destination' : p === 'keep-destination' ? 'keep-source' : p;
const mirrorChoice = (c: Choice): Choice => (c === 'A' || c === 'B' ? other(c) : c);

describe('choose', () => {
  const aNewer = conflict(
    file('f.txt', { mtime: T2, size: 1 }),
    file('f.txt', { mtime: T1, size: 5 }),
  );
  const bNewer = conflict(
    file('f.txt', { mtime: T1, size: 5 }),
    file('f.txt', { mtime: T2, size: 1 }),
  );
  const sameTime = conflict(
    file('f.txt', { mtime: T1, size: 5 }),
    file('f.txt', { mtime: T1, size: 1 }),
  );
  const sameSize = conflict(
    file('f.txt', { mtime: T2, size: 3 }),
    file('f.txt', { mtime: T1, size: 3 }),
  );
  const oneNs = conflict(file('f.txt', { mtime: ns(T1) + 1n }), file('f.txt', { mtime: ns(T1) }));
  const links = conflict(link('l', 'a', { mtime: T1 }), link('l', 'b', { mtime: T1 }));
  const rows: { policy: Auto; name: string; c: Conflict; want: Choice }[] = [
    { policy: 'keep-both', name: 'A newer and smaller', c: aNewer, want: 'both' },
    { policy: 'keep-both', name: 'B newer and smaller', c: bNewer, want: 'both' },
    { policy: 'keep-source', name: 'A newer', c: aNewer, want: 'A' },
    { policy: 'keep-source', name: 'B newer and larger', c: bNewer, want: 'A' },
    { policy: 'keep-destination', name: 'A newer and larger', c: sameSize, want: 'B' },
    { policy: 'keep-destination', name: 'B newer', c: bNewer, want: 'B' },
    { policy: 'keep-newer', name: 'A newer (though smaller)', c: aNewer, want: 'A' },
    { policy: 'keep-newer', name: 'B newer (though smaller)', c: bNewer, want: 'B' },
    { policy: 'keep-newer', name: 'A newer by 1 ns', c: oneNs, want: 'A' },
    { policy: 'keep-newer', name: 'the same mtime: a tie keeps both', c: sameTime, want: 'both' },
    { policy: 'keep-newer', name: 'symlinks at the same mtime: both', c: links, want: 'both' },
    { policy: 'keep-larger', name: 'B larger (though older)', c: aNewer, want: 'B' },
    { policy: 'keep-larger', name: 'A larger (though older)', c: bNewer, want: 'A' },
    { policy: 'keep-larger', name: 'A larger at the same mtime', c: sameTime, want: 'A' },
    { policy: 'keep-larger', name: 'the same size: a tie keeps both', c: sameSize, want: 'both' },
    { policy: 'keep-larger', name: 'symlinks (size 0): both', c: links, want: 'both' },
  ];
  for (const r of rows) {
    test(`${r.policy}: ${r.name}: ${r.want}`, () => {
      assert.equal(choose(r.policy, r.c), r.want);
      // S11: the mirrored conflict under the mirrored policy gets the mirrored choice.
      assert.equal(choose(mirrorPolicy(r.policy), swap(r.c)), mirrorChoice(r.want));
    });
  }

  test('S11: every policy mirrors, for any pair of versions', () => {
    const version = fc.record({
      size: fc.nat({ max: 3 }),
      mtime: fc.bigInt({ min: ns(T1) - 2n, max: ns(T1) + 2n }),
    });
    fc.assert(
      fc.property(fc.constantFrom(...AUTO), version, version, (policy, x, y) => {
        const c = conflict(file('f', x), file('f', y));
        assert.equal(choose(mirrorPolicy(policy), swap(c)), mirrorChoice(choose(policy, c)));
      }),
    );
  });
});

/** The ops of a choice as lines: `B Clear move f.conflict-... <- f moved-aside same`. */
function lines(ops: TwoWayOp[]): string[] {
  const phase = ['Clear', 'Write', 'Delete', 'DirTimes'];
  return ops.map(
    (o) =>
      `${o.side} ${phase[o.phase]} ${o.op} ${o.path}${o.from && o.from !== o.path ? ` <- ${o.from}` : ''} ${o.reason} ${o.pre.type}${o.record ? ` +${o.record.type}` : ''}`,
  );
}

describe('resolve', () => {
  const a = file('f.txt', { size: 2, mtime: T2, hash: 'ha' });
  const b = file('f.txt', { size: 3, mtime: T1, hash: 'hb' });

  test('S6: skip changes nothing, and records nothing (the next run asks again)', () => {
    const c = conflict(a, b);
    assert.deepEqual(resolve(c, 'skip'), []);
    assert.deepEqual([...c.taken], ['f.txt']);
  });

  for (const winner of ['A', 'B'] as const) {
    test(`${winner} wins: its version replaces the other side's, checked against it (S16)`, () => {
      const c = conflict(a, b);
      const ops = resolve(c, winner);
      const [w, l] = winner === 'A' ? [a, b] : [b, a];
      assert.deepEqual(lines(ops), [`${other(winner)} Write copy f.txt modified same +put`]);
      const [op] = ops as [TwoWayOp];
      assert.equal(op.source, w, 'the winning entry, as scanned');
      assert.deepEqual(op.pre, same(l));
      assert.equal(op.pre.type === 'same' && op.pre.entry, l, 'the losing entry, as scanned');
      // The ancestor becomes the winner, with the winner's stamp; the loser's is read after.
      assert.deepEqual(op.record, {
        type: 'put',
        path: 'f.txt',
        base: {
          name: 'f.txt',
          kind: 'file',
          size: w.size,
          mtimeNs: w.mtimeNs,
          mode: w.mode,
          hash: w.hash,
          [winner === 'A' ? 'stampA' : 'stampB']: { ino: w.ino, ctimeNs: w.ctimeNs },
        },
      });
      assert.deepEqual([...c.taken], ['f.txt'], 'no conflict name given out');
    });
  }

  /** The three operations of keep-both, `older` kept aside as `aside`. */
  function assertKeepBoth(c: Conflict, newer: Side, aside: string): void {
    const older = other(newer);
    const [n, o] = newer === 'A' ? [c.a, c.b] : [c.b, c.a];
    const ops = resolve(c, 'both');
    const path = (x: string) => join(c.dir, x);
    assert.deepEqual(lines(ops), [
      // The older version is renamed on its own side (checked: still as scanned)...
      `${older} Clear move ${path(aside)} <- ${path(c.name)} moved-aside same`,
      // ...and copied under that name to the other side...
      `${newer} Write copy ${path(aside)} conflict-copy absent +put`,
      // ...and the newer one takes the name on the older side, now free.
      `${older} Write copy ${path(c.name)} modified absent +put`,
    ]);
    const [move, copyAside, copyNewer] = ops as [TwoWayOp, TwoWayOp, TwoWayOp];
    assert.equal(move.source, o);
    assert.deepEqual(move.pre, same(o));
    assert.equal(copyAside.from, path(aside), 'read where the move put it');
    assert.deepEqual(copyAside.source, { ...o, name: aside });
    assert.deepEqual(copyAside.pre, ABSENT);
    assert.equal(copyAside.phase, Phase.Write);
    // Both stamps of the copy are read after it (the rename moved the original's ctime).
    const asideBase = copyAside.record?.type === 'put' ? copyAside.record.base : undefined;
    assert.equal(asideBase?.name, aside);
    assert.equal(asideBase?.size, o.size);
    assert.equal(asideBase?.mtimeNs, o.mtimeNs);
    assert.equal(asideBase?.stampA, undefined);
    assert.equal(asideBase?.stampB, undefined);
    assert.equal(copyNewer.source, n);
    assert.deepEqual(copyNewer.pre, ABSENT);
    const base = copyNewer.record?.type === 'put' ? copyNewer.record.base : undefined;
    assert.equal(base?.size, n.size);
    assert.equal(base?.hash, n.hash);
    assert.deepEqual(newer === 'A' ? base?.stampA : base?.stampB, {
      ino: n.ino,
      ctimeNs: n.ctimeNs,
    });
    assert.equal(newer === 'A' ? base?.stampB : base?.stampA, undefined);
    // S26: the name given out is taken from now on.
    assert.ok(c.taken.has(aside));
  }

  test("keep-both, A newer: B's version kept as f.conflict-B-<B's mtime>.txt on both sides", () => {
    assertKeepBoth(conflict(a, b), 'A', `f.conflict-B-${STAMP1}.txt`);
  });
  test("keep-both, B newer: A's version kept as f.conflict-A-<A's mtime>.txt on both sides", () => {
    assertKeepBoth(conflict(b, a), 'B', `f.conflict-A-${STAMP1}.txt`);
  });
  test('keep-both, the same mtime: A keeps the name (documented tie), B is kept aside', () => {
    const c = conflict(
      file('f.txt', { mtime: T2, size: 1 }),
      file('f.txt', { mtime: T2, size: 9 }),
    );
    assertKeepBoth(c, 'A', `f.conflict-B-${STAMP2}.txt`);
  });
  test('keep-both below a directory: every path is joined below it', () => {
    assertKeepBoth(conflict(a, b, { dir: 'p/q' }), 'A', `f.conflict-B-${STAMP1}.txt`);
  });
  test('keep-both of symlinks: the older link is kept aside as a link', () => {
    const c = conflict(link('l', 'new', { mtime: T2 }), link('l', 'old', { mtime: T1 }));
    assertKeepBoth(c, 'A', `l.conflict-B-${STAMP1}`);
  });

  test('S26: a taken conflict name gets -2, then -3, before the extension', () => {
    const first = `f.conflict-B-${STAMP1}.txt`;
    const second = `f.conflict-B-${STAMP1}-2.txt`;
    assertKeepBoth(conflict(a, b, { taken: [first] }), 'A', second);
    assertKeepBoth(conflict(a, b, { taken: [first, second] }), 'A', `f.conflict-B-${STAMP1}-3.txt`);
    // Resolving the same conflict twice never hands out one name twice.
    const c = conflict(a, b);
    assertKeepBoth(c, 'A', first);
    assertKeepBoth(c, 'A', second);
  });

  test('S26: every name of the directory, on either side or in the ancestor, is taken', () => {
    const first = `f.conflict-B-${STAMP1}.txt`;
    const second = `f.conflict-B-${STAMP1}-2.txt`;
    const anc = (e: Entry): Base => ({
      name: e.name,
      kind: e.kind,
      size: e.size,
      mtimeNs: e.mtimeNs,
      mode: e.mode,
      stampA: { ino: e.ino, ctimeNs: e.ctimeNs },
      stampB: { ino: e.ino, ctimeNs: e.ctimeNs },
    });
    const o = file('f.txt', { size: 1, mtime: T1 - 600 });
    const out = reconcileDir({
      dir: '',
      // `first` was deleted on both sides: only the ancestor still names it this run.
      base: [anc(file(first)), anc(o)],
      a: [a],
      // `second` only on B (new there): A does not have it yet.
      b: [file(second), b],
      protectedNames: new Set(),
      opts: { mtimeToleranceNs: 0n, checksum: false },
    });
    const [c] = out.conflicts as [Conflict];
    assert.equal(c.path, 'f.txt');
    assertKeepBoth(c, 'A', `f.conflict-B-${STAMP1}-3.txt`);
  });
});

describe('conflictName', () => {
  const rows: { name: string; side: Side; want: string }[] = [
    { name: 'report.txt', side: 'B', want: `report.conflict-B-${STAMP1}.txt` },
    { name: 'archive.tar.gz', side: 'A', want: `archive.tar.conflict-A-${STAMP1}.gz` },
    { name: 'Makefile', side: 'B', want: `Makefile.conflict-B-${STAMP1}` },
    { name: '.bashrc', side: 'A', want: `.bashrc.conflict-A-${STAMP1}` },
    { name: '.config.json', side: 'B', want: `.config.conflict-B-${STAMP1}.json` },
    { name: 'Ünïcödé 😀.md', side: 'A', want: `Ünïcödé 😀.conflict-A-${STAMP1}.md` },
  ];
  for (const r of rows) {
    test(`${r.name} from ${r.side}: ${r.want}`, () => {
      const taken = new Set([r.name]);
      assert.equal(conflictName(r.name, r.side, ns(T1), taken), r.want);
      assert.ok(taken.has(r.want), 'S26: taken from now on');
    });
  }

  test("S11: next to an older copy named for the other side, either side's copy takes the same counter", () => {
    const older = new Set([`b.conflict-B-${STAMP1}`, `c.conflict-A-${STAMP1}-2`]);
    // Planning (A, B) and (B, A) name the copy of one version for opposite sides.
    assert.equal(conflictName('b', 'A', ns(T1), new Set(older)), `b.conflict-A-${STAMP1}-2`);
    assert.equal(conflictName('b', 'B', ns(T1), new Set(older)), `b.conflict-B-${STAMP1}-2`);
    assert.equal(conflictName('c', 'A', ns(T1), new Set(older)), `c.conflict-A-${STAMP1}`);
    assert.equal(conflictName('c', 'B', ns(T1), new Set(older)), `c.conflict-B-${STAMP1}`);
  });

  test('the time is UTC whatever the local zone, cut (not rounded) to the second', () => {
    const tz = process.env.TZ;
    try {
      for (const zone of ['UTC', 'Pacific/Kiritimati', 'America/St_Johns']) {
        process.env.TZ = zone;
        // 2026-11-20T23:59:59.999999999Z: still the 20th, still second 59.
        const t = BigInt(Date.UTC(2026, 10, 20, 23, 59, 59)) * 1_000_000n + 999_999_999n;
        assert.equal(conflictName('f', 'A', t, new Set()), 'f.conflict-A-20261120-235959');
      }
    } finally {
      if (tz === undefined) delete process.env.TZ;
      else process.env.TZ = tz;
    }
  });

  test('times before 1970 count down to the second before, too', () => {
    assert.equal(conflictName('f', 'A', 0n, new Set()), 'f.conflict-A-19700101-000000');
    assert.equal(conflictName('f', 'A', -1n, new Set()), 'f.conflict-A-19691231-235959');
    assert.equal(
      conflictName('f', 'A', -1_000_000_001n, new Set()),
      'f.conflict-A-19691231-235958',
    );
  });

  describe('names too long for the file system (NAME_MAX, 255 bytes of UTF-8)', () => {
    const mark = (side: Side) => `.conflict-${side}-${STAMP1}`; // 27 bytes
    const bytes = (s: string) => Buffer.byteLength(s, 'utf8');
    const rows: { why: string; name: string; taken?: string[]; want: string; size: number }[] = [
      {
        why: 'a short name is unchanged',
        name: 'report.txt',
        want: `report${mark('A')}.txt`,
        size: 37,
      },
      {
        why: 'a name whose copy takes 255 bytes exactly is unchanged',
        name: `${'n'.repeat(224)}.txt`,
        want: `${'n'.repeat(224)}${mark('A')}.txt`,
        size: 255,
      },
      {
        why: 'a 244-byte ASCII name loses the end of its stem, keeping the mark and .txt',
        name: `${'n'.repeat(240)}.txt`,
        want: `${'n'.repeat(224)}${mark('A')}.txt`,
        size: 255,
      },
      {
        why: 'taken: the counter -2 takes two more bytes of the stem',
        name: `${'n'.repeat(240)}.txt`,
        taken: [`${'n'.repeat(224)}${mark('A')}.txt`],
        want: `${'n'.repeat(222)}${mark('A')}-2.txt`,
        size: 255,
      },
      {
        why: 'é x 120 (244 bytes) is cut between code points',
        name: `${'é'.repeat(120)}.txt`,
        want: `${'é'.repeat(112)}${mark('A')}.txt`,
        size: 255,
      },
      {
        why: 'é x 121 with 225 bytes of room keeps 112 é, not 112 and a half',
        name: `${'é'.repeat(121)}.md`,
        want: `${'é'.repeat(112)}${mark('A')}.md`,
        size: 254,
      },
      {
        why: 'an emoji (4 bytes, 2 UTF-16 units) goes whole or not at all',
        name: `${'😀'.repeat(61)}.md`,
        want: `${'😀'.repeat(56)}${mark('A')}.md`,
        size: 254,
      },
      {
        why: 'a long name without an extension keeps the mark at its end',
        name: 'n'.repeat(250),
        want: `${'n'.repeat(228)}${mark('A')}`,
        size: 255,
      },
      {
        why: 'a short name with a 200-byte extension fits, and is unchanged',
        name: `x.${'e'.repeat(199)}`,
        want: `x${mark('A')}.${'e'.repeat(199)}`,
        size: 228,
      },
      {
        why: 'a 200-byte extension that does not fit is no extension: the name is cut at its end',
        name: `${'x'.repeat(40)}.${'e'.repeat(199)}`,
        want: `${'x'.repeat(40)}.${'e'.repeat(187)}${mark('A')}`,
        size: 255,
      },
      {
        why: 'a 32-byte extension is still one',
        name: `${'x'.repeat(200)}.${'e'.repeat(31)}`,
        want: `${'x'.repeat(196)}${mark('A')}.${'e'.repeat(31)}`,
        size: 255,
      },
    ];
    for (const r of rows) {
      test(`${r.why} (${bytes(r.name)} -> ${r.size} bytes)`, () => {
        const taken = new Set([r.name, ...(r.taken ?? [])]);
        const got = conflictName(r.name, 'A', ns(T1), taken);
        assert.equal(got, r.want);
        assert.equal(bytes(got), r.size);
        assert.equal(Buffer.from(got, 'utf8').toString('utf8'), got, 'valid UTF-8');
        assert.ok(taken.has(got), 'S26: taken from now on');
      });
    }

    test('the tenth copy of a long name still fits: -10 takes one more byte than -9', () => {
      const name = `${'n'.repeat(240)}.txt`;
      const taken = new Set([name]);
      const given = Array.from({ length: 10 }, () => conflictName(name, 'B', ns(T1), taken));
      assert.equal(new Set(given).size, 10, 'no name handed out twice');
      assert.equal(given[8], `${'n'.repeat(222)}${mark('B')}-9.txt`);
      assert.equal(given[9], `${'n'.repeat(221)}${mark('B')}-10.txt`);
      for (const g of given) assert.ok(bytes(g) <= 255, g);
    });

    test('fitName: the stem gives way, never the mark or the extension; max is a parameter', () => {
      assert.equal(fitName('abcdef', '.M', '.x', 8), 'abcd.M.x');
      assert.equal(fitName('abc', '.M', '.x', 8), 'abc.M.x');
      assert.equal(fitName('ééé', '.M', '.x', 8), 'éé.M.x'); // 4 bytes of room: two é
      assert.equal(fitName('ééé', '.M', '.x', 7), 'é.M.x'); // 3 bytes: one é, not one and a half
      assert.equal(fitName('abc', '.M', '.x', 4), '.M.x'); // the stem may go entirely
    });

    /** As the e2e tests and a reader find a copy: a prefix of the name, the mark, [-n], ext. */
    function isCopyOf(copy: string, name: string): boolean {
      const m = /^(.*)\.conflict-[AB]-\d{8}-\d{6}(?:-\d+)?((?:\.[^.]*)?)$/su.exec(copy);
      if (!m) return false;
      const [, stem = '', ext = ''] = m;
      return ext === '' ? name.startsWith(stem) : name.endsWith(ext) && name.startsWith(stem);
    }

    test('S26 for long names: any name of up to 255 bytes gives copies that fit, are valid UTF-8, read as its copies, and never collide', () => {
      const chunk = fc.constantFrom('n', 'é', '日', '😀', '.', ' ', 'e\u0301');
      // Chunks repeated up to a byte length picked at random: fast-check's arrays stay short.
      const nameArb = fc
        .record({
          parts: fc.array(chunk, { minLength: 1, maxLength: 30 }),
          target: fc.integer({ min: 1, max: 255 }),
        })
        .map(({ parts, target }) => {
          const part = (i: number) => parts[i % parts.length] as string;
          let name = '';
          for (let i = 0; bytes(name + part(i)) <= target; i++) name += part(i);
          return name === '' ? 'n' : name;
        });
      fc.assert(
        fc.property(
          nameArb,
          fc.constantFrom<Side>('A', 'B'),
          fc.integer({ min: 1, max: 12 }),
          (name, side, calls) => {
            const taken = new Set([name]);
            const given: string[] = [];
            for (let k = 0; k < calls; k++) given.push(conflictName(name, side, ns(T1), taken));
            assert.equal(new Set(given).size, calls, 'no name handed out twice');
            for (const g of given) {
              assert.ok(g !== name);
              assert.ok(bytes(g) <= 255, `${bytes(g)} bytes`);
              assert.equal(Buffer.from(g, 'utf8').toString('utf8'), g, 'valid UTF-8');
              assert.ok(isCopyOf(g, name), `${g} reads as a copy of ${name}`);
            }
          },
        ),
        { includeErrorInReport: true },
      );
    });
  });

  /** The expected stamp, computed apart: whole seconds, rounded down, in UTC. */
  function stampOf(mtimeNs: bigint): string {
    const s = mtimeNs / 1_000_000_000n - (mtimeNs % 1_000_000_000n < 0n ? 1n : 0n);
    const d = new Date(Number(s) * 1000);
    const p = (n: number, w = 2) => String(n).padStart(w, '0');
    return `${p(d.getUTCFullYear(), 4)}${p(d.getUTCMonth() + 1)}${p(d.getUTCDate())}-${p(d.getUTCHours())}${p(d.getUTCMinutes())}${p(d.getUTCSeconds())}`;
  }

  test('S26: any mtime (int64 ns), any taken set: the format holds, and no name is handed out twice', () => {
    const stems = fc.constantFrom<string>('f', 'f.txt', 'a.b.c', '.rc', 'x.');
    fc.assert(
      fc.property(
        stems,
        fc.constantFrom<Side>('A', 'B'),
        fc.bigInt({ min: -(2n ** 63n), max: 2n ** 63n - 1n }),
        fc.nat({ max: 4 }),
        fc.integer({ min: 1, max: 4 }),
        (name, side, mtimeNs, preTaken, calls) => {
          const dot = name.lastIndexOf('.');
          const [stem, ext] = dot > 0 ? [name.slice(0, dot), name.slice(dot)] : [name, ''];
          const first = `${stem}.conflict-${side}-${stampOf(mtimeNs)}`;
          const nth = (k: number) => `${first}${k === 1 ? '' : `-${k}`}${ext}`;
          // The first `preTaken` of the names it would give out exist already.
          const taken = new Set([name]);
          for (let k = 1; k <= preTaken; k++) taken.add(nth(k));
          const before = new Set(taken);
          const given: string[] = [];
          for (let k = 0; k < calls; k++) given.push(conflictName(name, side, mtimeNs, taken));
          for (const g of given) {
            assert.ok(!before.has(g), `${g} was taken`);
            assert.ok(taken.has(g), `${g} is taken now`);
          }
          // Distinct, in order, with no gaps: the first free of name, name-2, name-3...
          assert.deepEqual(
            given,
            given.map((_, k) => nth(preTaken + k + 1)),
          );
        },
      ),
      { includeErrorInReport: true },
    );
  });
});
