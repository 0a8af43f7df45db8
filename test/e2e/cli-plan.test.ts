import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { cli, events, fingerprint, readTree, roots, type Spec, T1, T2, T3 } from './helpers.ts';

const A_SPEC: Spec = {
  'new.txt': { content: 'new!', mtime: T1 },
  'newdir/x': { content: 'xx', mtime: T1 },
  sub: { dir: true },
  'changed.txt': { content: 'changed', mtime: T2 },
  touched: { content: 'same', mtime: T3 },
  wasdir: { content: 'f', mtime: T1 },
  ln: { link: 'newdir' },
  keep: { content: 'keep', mtime: T1 },
};
const B_SPEC: Spec = {
  'changed.txt': { content: 'old', mtime: T1 },
  touched: { content: 'same', mtime: T1 },
  'extra.txt': 'e',
  'extradir/y': 'y',
  'extradir/deep/z': 'z',
  'wasdir/q': 'q',
  keep: { content: 'keep', mtime: T1 },
  '.concord-tmp-12345678-keep': 'a leftover',
};

/** The plan's text, group title -> its lines (without the two-space indent). */
function groups(text: string): Record<string, string[]> {
  const out: Record<string, string[]> = {};
  let current: string[] | undefined;
  for (const line of text.split('\n')) {
    const m = /^(\S.*) \(\d+\):$/.exec(line);
    if (m) {
      current = [];
      out[m[1] as string] = current;
    } else if (line.startsWith('  ') && current) current.push(line.slice(2));
  }
  return out;
}

const sorted = (xs: string[]) => [...xs].sort();

describe('concord plan', () => {
  test('lists what a mirror would do, grouped, and changes nothing (no .concord/, leftovers kept)', async (t) => {
    const { dir, A, B } = roots(t, A_SPEC, B_SPEC);
    const before = fingerprint(dir);
    const r = await cli(['plan', A, B, '--mode', 'mirror']);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stderr, '');
    assert.equal(r.stdout.split('\n')[0], `Plan: mirror ${A} -> ${B}`);
    const g = groups(r.stdout);
    assert.deepEqual(Object.keys(g), [
      'Create',
      'Update',
      'Replace with another kind',
      'Metadata only (mtime or mode)',
      'Delete (to the trash)',
    ]);
    assert.deepEqual(
      sorted(g.Create ?? []),
      sorted(['+ ln -> newdir', '+ new.txt  (4 B)', '+ newdir/', '+ newdir/x  (2 B)', '+ sub/']),
    );
    assert.deepEqual(g.Update, ['~ changed.txt  (7 B)']);
    assert.deepEqual(g['Replace with another kind'], ['! wasdir  (1 B)']);
    assert.deepEqual(g['Metadata only (mtime or mode)'], ['= touched']);
    assert.deepEqual(
      sorted(g['Delete (to the trash)'] ?? []),
      sorted([
        '- extra.txt',
        '- extradir/',
        '- extradir/deep/',
        '- extradir/deep/z',
        '- extradir/y',
        '- wasdir/',
        '- wasdir/q',
      ]),
    );
    assert.deepEqual(fingerprint(dir), before);
    assert.equal(existsSync(join(B, '.concord')), false);
  });

  test('lists the entries of each group in path order, a directory right before its children', async (t) => {
    const { A, B } = roots(t, A_SPEC, B_SPEC);
    const r = await cli(['plan', A, B, '--mode', 'mirror']);
    const g = groups(r.stdout);
    assert.deepEqual(g.Create, [
      '+ ln -> newdir',
      '+ new.txt  (4 B)',
      '+ newdir/',
      '+ newdir/x  (2 B)',
      '+ sub/',
    ]);
    assert.deepEqual(g['Delete (to the trash)'], [
      '- extra.txt',
      '- extradir/',
      '- extradir/deep/',
      '- extradir/deep/z',
      '- extradir/y',
      '- wasdir/',
      '- wasdir/q',
    ]);
  });

  test('--json prints one plan document; a mirror then does exactly those operations', async (t) => {
    const { dir, A, B } = roots(t, A_SPEC, B_SPEC);
    const before = fingerprint(dir);
    const r = await cli(['plan', A, B, '--mode=mirror', '--json']);
    assert.equal(r.code, 0, r.stderr);
    const lines = events(r);
    assert.equal(lines.length, 1);
    const doc = lines[0] as { type: string; mode: string; operations: Record<string, unknown>[] };
    assert.equal(doc.type, 'plan');
    assert.equal(doc.mode, 'mirror');
    assert.deepEqual((doc as unknown as { problems: unknown[] }).problems, []);
    assert.deepEqual(fingerprint(dir), before);
    for (const o of doc.operations) {
      assert.equal(typeof o.op, 'string');
      assert.equal(typeof o.path, 'string');
      assert.equal(typeof o.reason, 'string', 'and why');
    }
    const planned = doc.operations.map((o) => `${o.op} ${o.path} ${o.reason}`).sort();
    assert.ok(planned.includes('copy changed.txt modified'));
    assert.ok(planned.includes('delete extradir/deep/z extra'));
    assert.ok(planned.includes('delete wasdir replaced'));
    assert.ok(planned.includes('copy wasdir kind-changed'));
    assert.ok(planned.includes('set-meta touched metadata'));

    const run = await cli(['mirror', A, B, '--json']);
    assert.equal(run.code, 0, run.stderr);
    const done = events(run)
      .filter((e) => e.type === 'op')
      .map((e) => `${e.op} ${e.path} ${e.reason}`)
      .sort();
    assert.deepEqual(done, planned);
    assert.deepEqual(readTree(B), readTree(A));
  });

  test('--no-trash says deletions are for good; replica mode plans no deletion of extras', async (t) => {
    const { dir, A, B } = roots(t, A_SPEC, B_SPEC);
    const before = fingerprint(dir);
    const forGood = await cli(['plan', A, B, '--mode', 'mirror', '--no-trash']);
    assert.equal(forGood.code, 0);
    assert.ok('Delete (for good: --no-trash)' in groups(forGood.stdout), forGood.stdout);

    const replica = await cli(['plan', A, B, '--mode', 'replica']);
    // wasdir is a directory on B and a file on A: replica cannot replace it (exit 3, listed).
    assert.equal(replica.code, 3);
    assert.match(replica.stderr, /^concord: B wasdir: /m);
    const g = groups(replica.stdout);
    assert.equal(g['Delete (to the trash)'], undefined);
    assert.equal(g['Replace with another kind'], undefined);
    assert.deepEqual(g.Update, ['~ changed.txt  (7 B)']);
    assert.deepEqual(fingerprint(dir), before);
  });

  test('an in-sync pair: nothing to do', async (t) => {
    const { A, B } = roots(t, { f: { content: 'f', mtime: T1 } });
    const r = await cli(['mirror', A, B]);
    assert.equal(r.code, 0, r.stderr);
    const p = await cli(['plan', A, B, '--mode', 'mirror']);
    assert.equal(p.code, 0);
    assert.match(p.stdout, /Nothing to do: B is in sync\./);
  });

  test('into a missing B: everything is a creation, and B is not created', async (t) => {
    const { dir, A, B } = roots(t, { f: 'f', 'd/g': 'gg' });
    const before = fingerprint(dir);
    const r = await cli(['plan', A, B, '--mode', 'replica', '--json']);
    assert.equal(r.code, 0, r.stderr);
    const doc = events(r)[0] as { operations: { op: string; path: string; reason: string }[] };
    assert.deepEqual(
      doc.operations.filter((o) => o.reason !== 'dir-times').map((o) => `${o.op} ${o.path}`),
      ['mkdir d', 'copy f', 'copy d/g'],
    );
    assert.equal(existsSync(B), false);
    assert.deepEqual(fingerprint(dir), before);
  });

  test('a FIFO in A: the plan lists the problem and exits 3', async (t) => {
    const { A, B } = roots(t, { f: 'f' });
    assert.equal(spawnSync('mkfifo', [join(A, 'fifo')]).status, 0);
    const r = await cli(['plan', A, B, '--mode', 'mirror']);
    assert.equal(r.code, 3);
    assert.match(r.stderr, /^concord: A fifo: /m);
    const j = await cli(['plan', A, B, '--mode', 'mirror', '--json']);
    assert.equal(j.code, 3);
    const doc = events(j)[0] as { problems: { path: string; code: string }[] };
    assert.deepEqual(
      doc.problems.map((p) => `${p.path} ${p.code}`),
      ['fifo special-file'],
    );
  });
});
