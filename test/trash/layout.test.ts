import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import { numberedName } from '../../src/core/path.ts';
import {
  compareAge,
  compareItems,
  parseRunName,
  pickRestore,
  runDirName,
  type TrashItem,
  versionOf,
} from '../../src/trash/layout.ts';

const DAY = 86_400_000;
const T0 = Date.UTC(2026, 10, 20, 10, 0, 0);

/** A trashed item: `path` from the run at `T0 + day` days (seq 1 unless given), version 1. */
function item(
  path: string,
  day: number,
  o: { kind?: TrashItem['kind']; seq?: number; version?: number } = {},
): TrashItem {
  const ms = T0 + day * DAY;
  const seq = o.seq ?? 1;
  const name = `${runDirName(new Date(ms))}${seq > 1 ? `-${seq}` : ''}`;
  const version = o.version ?? 1;
  return {
    path,
    kind: o.kind ?? 'file',
    size: 1,
    run: { name, ms, seq },
    version,
    stored: `${name}/${path}${version > 1 ? `~${version}` : ''}`,
  };
}

const picked = (items: TrashItem[], target: string, atMs?: number) => {
  const p = pickRestore(items, target, atMs);
  assert.ok(p.ok, `a pick for '${target}'`);
  return p.items.map((i) => i.stored);
};

describe('run directory names', () => {
  test('a run stamp is its UTC second; -N orders runs of the same second', () => {
    assert.equal(runDirName(new Date(T0 + 987)), '20261120-100000');
    assert.deepEqual(parseRunName('20261120-100000'), { name: '20261120-100000', ms: T0, seq: 1 });
    assert.deepEqual(parseRunName('20261120-100000-3'), {
      name: '20261120-100000-3',
      ms: T0,
      seq: 3,
    });
  });

  test('names that are not stamps we write are not runs', () => {
    for (const name of [
      'notes',
      '20261120-100000-1',
      '20261320-100000',
      '20261120-250000',
      '2026112-100000',
      '20261120-100000x',
    ])
      assert.equal(parseRunName(name), undefined, name);
  });
});

describe('~N versions', () => {
  test('x~2 is a later version of x only when x is in the same directory', () => {
    assert.deepEqual(versionOf('x~2', new Set(['x', 'x~2'])), { name: 'x', version: 2 });
    assert.deepEqual(versionOf('x~2', new Set(['x~2'])), { name: 'x~2', version: 1 });
    assert.deepEqual(versionOf('x~1', new Set(['x', 'x~1'])), { name: 'x~1', version: 1 });
    assert.deepEqual(versionOf('a.txt~12', new Set(['a.txt'])), { name: 'a.txt', version: 12 });
  });

  test('a name too long to take ~N whole was cut to fit 255 bytes: still a version of the name it came from', () => {
    const long = `${'é'.repeat(100)}${'n'.repeat(54)}`; // 254 bytes
    const second = numberedName(long, 2);
    assert.equal(Buffer.byteLength(second), 255);
    assert.deepEqual(versionOf(second, new Set([long, second])), { name: long, version: 2 });
    assert.deepEqual(versionOf(second, new Set([second])), { name: second, version: 1 });
  });

  test('list order: path (parents first), then run time, run order, version', () => {
    const items = [
      item('b', 0),
      item('a/c', 1),
      item('a', 2),
      item('a', 1, { version: 2 }),
      item('a', 1),
      item('a', 1, { seq: 2 }),
    ];
    assert.deepEqual(
      items.sort(compareItems).map((i) => i.stored),
      [
        '20261121-100000/a',
        '20261121-100000/a~2',
        '20261121-100000-2/a',
        '20261122-100000/a',
        '20261121-100000/a/c',
        '20261120-100000/b',
      ],
    );
  });
});

describe('pickRestore: what a restore puts back', () => {
  const items = [
    item('x', 0),
    item('x', 1),
    item('x', 1, { version: 2 }),
    item('x', 3),
    item('d/a', 0),
    item('d/a', 2),
    item('d/b', 1),
    item('d/e', 1, { kind: 'dir' }),
    item('dx', 0),
  ];

  test('the newest version of a file; with --at, the newest at or before it', () => {
    assert.deepEqual(picked(items, 'x'), ['20261123-100000/x']);
    assert.deepEqual(picked(items, 'x', T0 + 2 * DAY), ['20261121-100000/x~2']);
    assert.deepEqual(picked(items, 'x', T0 + DAY), ['20261121-100000/x~2'], 'a run at its second');
    assert.deepEqual(picked(items, 'x', T0 + DAY - 1), ['20261120-100000/x']);
  });

  test('a directory: the newest version of every path under it, not its namesakes', () => {
    assert.deepEqual(picked(items, 'd'), [
      '20261122-100000/d/a',
      '20261121-100000/d/b',
      '20261121-100000/d/e',
    ]);
    assert.deepEqual(picked(items, 'd', T0), ['20261120-100000/d/a']);
    assert.equal(picked(items, '').length, 5, 'x, d/a, d/b, d/e, dx');
  });

  test('unknown paths and times before the oldest version are told apart', () => {
    assert.deepEqual(pickRestore(items, 'nope', undefined), { ok: false, reason: 'unknown' });
    assert.deepEqual(pickRestore(items, 'd', T0 - 1), {
      ok: false,
      reason: 'too-early',
      oldestMs: T0,
    });
  });

  test('a file and a directory of the same name: the one trashed last wins, the other stays', () => {
    const clash = [item('p', 0), item('p/q', 1), item('r', 2), item('r/s', 1)];
    assert.deepEqual(picked(clash, ''), ['20261121-100000/p/q', '20261122-100000/r']);
    assert.deepEqual(picked(clash, '', T0), ['20261120-100000/p']);
  });
});

describe('pickRestore laws (fast-check)', () => {
  const names = fc.constantFrom('a', 'b', 'a/b', 'a/c', 'b/a', 'a/b/c');
  const arbItem = fc
    .record({
      path: names,
      day: fc.integer({ min: 0, max: 5 }),
      seq: fc.integer({ min: 1, max: 2 }),
      version: fc.integer({ min: 1, max: 2 }),
      dir: fc.boolean(),
    })
    .map((r) =>
      item(r.path, r.day, { seq: r.seq, version: r.version, kind: r.dir ? 'dir' : 'file' }),
    );

  test('S7 one version per path, none newer than --at, the newest eligible one, nothing below a file', () => {
    fc.assert(
      fc.property(
        fc.uniqueArray(arbItem, { selector: (i) => i.stored, maxLength: 12 }),
        fc.constantFrom('', 'a', 'a/b', 'b'),
        fc.option(fc.integer({ min: -1, max: 6 }), { nil: undefined }),
        (items, target, atDay) => {
          const atMs = atDay === undefined ? undefined : T0 + atDay * DAY;
          const p = pickRestore(items, target, atMs);
          if (!p.ok) return;
          const paths = p.items.map((i) => i.path);
          assert.equal(new Set(paths).size, paths.length, 'one version per path');
          for (const i of p.items) {
            assert.ok(i.path === target || target === '' || i.path.startsWith(`${target}/`));
            if (atMs !== undefined) assert.ok(i.run.ms <= atMs, 'none newer than --at');
            const rivals = items.filter(
              (j) => j.path === i.path && (atMs === undefined || j.run.ms <= atMs),
            );
            assert.ok(
              rivals.every((j) => compareAge(j, i) <= 0),
              'the newest eligible version',
            );
            if (i.kind !== 'dir')
              assert.ok(!paths.some((q) => q.startsWith(`${i.path}/`)), 'nothing below a file');
          }
        },
      ),
    );
  });
});
