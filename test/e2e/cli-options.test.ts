import assert from 'node:assert/strict';
import { existsSync, lstatSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import {
  assertRefused,
  COUNT_KEYS,
  cli,
  contents,
  counts,
  events,
  fingerprint,
  HAS_FIX,
  makeTree,
  onlyTrash,
  problemsOf,
  readTree,
  roots,
  type Spec,
  summaryOf,
  T1,
  T2,
  T3,
  tempFiles,
  ZERO,
} from './helpers.ts';

/** A pair where a mirror has something of every kind to do: create, update, delete, metadata. */
const BUSY_A: Spec = {
  'new.txt': { content: 'new!', mtime: T1 },
  'newdir/x': { content: 'xx', mtime: T1 },
  'changed.txt': { content: 'changed', mtime: T2 },
  'touched.txt': { content: 'same bytes', mtime: T3 },
  'keep.txt': { content: 'keep', mtime: T1 },
};
const BUSY_B: Spec = {
  'changed.txt': { content: 'old', mtime: T1 },
  'touched.txt': { content: 'same bytes', mtime: T1 },
  'keep.txt': { content: 'keep', mtime: T1 },
  'extra.txt': 'extra',
  'extradir/y': 'y',
  '.concord-tmp-0badc0de-torn': 'a leftover',
};

describe('--dry-run', () => {
  test('changes nothing (not even leftover temp files), exits 0, and counts what would be done', async (t) => {
    const { dir, A, B } = roots(t, BUSY_A, BUSY_B);
    const before = fingerprint(dir);
    const r = await cli(['mirror', A, B, '--dry-run', '--json']);
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(fingerprint(dir), before);
    assert.equal(existsSync(join(B, '.concord')), false);
    const s = summaryOf(r);
    assert.equal(s.dryRun, true);
    assert.deepEqual(counts(r), {
      ...ZERO,
      created: 3, // new.txt, newdir/, newdir/x
      updated: 1, // changed.txt
      deleted: 3, // extra.txt, extradir/, extradir/y
      metadataUpdated: 1, // touched.txt
      bytesCopied: 13, // what would be copied
    });
    assert.equal(
      events(r).filter((e) => e.type === 'op').length,
      0,
      'no operation is reported as done',
    );
  });

  test('-n into a missing B does not create it; the human summary says nothing changed', async (t) => {
    const { dir, A, B } = roots(t, BUSY_A);
    const before = fingerprint(dir);
    const r = await cli(['copy', A, B, '-n']);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(existsSync(B), false);
    assert.deepEqual(fingerprint(dir), before);
    assert.match(r.stdout, /dry run: nothing changed/);
  });
});

describe('--json', () => {
  test('NDJSON: every line an event with type and jobId, the summary last with the documented keys', async (t) => {
    const { A, B } = roots(t, { ...BUSY_A, 'more.txt': 'p' }, BUSY_B);
    const r = await cli(['mirror', A, B, '--json']);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stderr, '', 'nothing on stderr with --json when all goes well');
    assert.ok(r.stdout.endsWith('\n'));
    const lines = events(r);
    assert.ok(lines.length > 2);
    const jobIds = new Set<unknown>();
    for (const e of lines) {
      assert.equal(typeof e.type, 'string', JSON.stringify(e));
      assert.equal(typeof e.jobId, 'string', JSON.stringify(e));
      assert.ok((e.jobId as string).length > 0);
      jobIds.add(e.jobId);
    }
    assert.equal(jobIds.size, 1, 'one run, one job');
    assert.equal(lines.filter((e) => e.type === 'summary').length, 1);
    const s = lines.at(-1) as Record<string, unknown>;
    assert.equal(s.type, 'summary');
    for (const k of ['mode', ...COUNT_KEYS, 'durationMs', 'problems'])
      assert.ok(k in s, `summary has ${k}`);
    assert.equal(s.mode, 'mirror');
    for (const k of ['created', 'updated', 'deleted', 'moved', 'metadataUpdated', 'bytesCopied'])
      assert.ok(Number.isInteger(s[k]), k);
    assert.ok(typeof s.durationMs === 'number' && s.durationMs >= 0);
    assert.deepEqual(s.problems, []);
    assert.deepEqual(counts(r), {
      ...ZERO,
      created: 4,
      updated: 1,
      deleted: 3,
      metadataUpdated: 1,
      bytesCopied: 14,
    });
    const ops = lines
      .filter((e) => e.type === 'op')
      .map((e) => `${e.op} ${e.path}`)
      .sort();
    for (const want of [
      'copy new.txt',
      'copy newdir/x',
      'copy more.txt',
      'mkdir newdir',
      'copy changed.txt',
      'delete extra.txt',
      'delete extradir',
      'delete extradir/y',
      'set-meta touched.txt',
    ])
      assert.ok(ops.includes(want), `op event '${want}' in ${ops.join(', ')}`);
    const phases = lines.filter((e) => e.type === 'phase').map((e) => e.phase);
    assert.deepEqual(phases.at(-1), 'done');
  });

  test('problems appear as problem events and in the summary, each with path, code and message', async (t) => {
    const { A, B } = roots(t, { x: 'file' }, { 'x/in': 'dir on B' });
    const r = await cli(['copy', A, B, '--json']);
    assert.equal(r.code, 3);
    const probs = events(r).filter((e) => e.type === 'problem');
    assert.equal(probs.length, 1);
    const s = summaryOf(r);
    const [p] = s.problems as Record<string, unknown>[];
    assert.ok(p);
    assert.equal(p.path, 'x');
    assert.equal(p.code, 'kind-conflict');
    assert.equal(typeof p.message, 'string');
  });
});

describe('comparison', () => {
  test('--checksum: a same-size, same-mtime file with other content is updated only with --checksum', async (t) => {
    const { A, B } = roots(
      t,
      { f: { content: 'AAAA', mtime: T1 }, g: { content: 'same', mtime: T1 } },
      { f: { content: 'BBBB', mtime: T1 }, g: { content: 'same', mtime: T1 } },
    );
    const quick = await cli(['mirror', A, B, '--json']);
    assert.equal(quick.code, 0, quick.stderr);
    assert.deepEqual(counts(quick), ZERO, 'size + mtime say equal');
    assert.equal(readTree(B).f?.content, 'BBBB');

    const deep = await cli(['mirror', A, B, '--json', '--checksum']);
    assert.equal(deep.code, 0, deep.stderr);
    assert.deepEqual(counts(deep), { ...ZERO, updated: 1, bytesCopied: 4 });
    assert.deepEqual(readTree(B), readTree(A));
    assert.deepEqual(contents(onlyTrash(B)), { f: { kind: 'file', content: 'BBBB' } });

    const again = await cli(['mirror', A, B, '--json', '-c']);
    assert.deepEqual(counts(again), ZERO, 'S12 with --checksum too');
  });

  test('S3 an mtime-only difference with equal content updates metadata only: no copy, same inode', async (t) => {
    const { A, B } = roots(
      t,
      { f: { content: 'identical', mtime: T2 }, m: { content: 'mode', mtime: T1, mode: 0o600 } },
      { f: { content: 'identical', mtime: T1 }, m: { content: 'mode', mtime: T1, mode: 0o644 } },
    );
    const inoF = lstatSync(join(B, 'f')).ino;
    const inoM = lstatSync(join(B, 'm')).ino;
    const r = await cli(['mirror', A, B, '--json']);
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(counts(r), { ...ZERO, metadataUpdated: 2 });
    assert.deepEqual(readTree(B), readTree(A));
    assert.equal(lstatSync(join(B, 'f')).ino, inoF, 'not replaced by a copy');
    assert.equal(lstatSync(join(B, 'm')).ino, inoM, 'not replaced by a copy');
    assert.equal(existsSync(join(B, '.concord')), false, 'nothing overwritten, nothing to keep');
  });

  test('--modify-window: mtimes within the window count as equal', async (t) => {
    const spec = (content: string, mtime: number): Spec => ({
      f: { content, mtime },
      g: { content: 'same', mtime },
    });
    const { A, B } = roots(t, spec('AAAA', T1), spec('BBBB', T1 + 1));
    const windowed = await cli(['mirror', A, B, '--json', '--modify-window', '2']);
    assert.equal(windowed.code, 0, windowed.stderr);
    assert.deepEqual(counts(windowed), ZERO, '1 s apart within a 2 s window: equal');
    assert.equal(readTree(B).f?.content, 'BBBB');

    const narrow = await cli(['mirror', A, B, '--json', '--modify-window', '0.5']);
    assert.equal(narrow.code, 0, narrow.stderr);
    // Outside the window, equal sizes are settled by content: f is copied, g only touched.
    assert.deepEqual(counts(narrow), { ...ZERO, updated: 1, metadataUpdated: 1, bytesCopied: 4 });
    assert.deepEqual(readTree(B), readTree(A));
  });
});

describe('filters', () => {
  const LOGS: Spec = {
    'a.log': 'a',
    'keep.log': 'keep',
    'sub/b.log': 'b',
    'sub/keep.log': 'sub keep',
    'x.txt': 'x',
    'build/out.o': 'o',
    'docs/build': 'a file named build',
    'top.txt': 'root top',
    'sub/top.txt': 'sub top',
  };

  test("--exclude '*.log' --include keep.log: gitignore semantics, the last matching rule wins", async (t) => {
    const { A, B } = roots(t, LOGS, { 'stale.log': 'excluded on B', 'stale.txt': 'extra' });
    const r = await cli([
      'mirror',
      A,
      B,
      '--exclude',
      '*.log',
      '--include',
      'keep.log',
      '--exclude',
      'build/',
      '--exclude=/top.txt',
      '--json',
    ]);
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(contents(B), {
      'docs/build': { kind: 'file', content: 'a file named build' },
      'docs/': { kind: 'dir' },
      'keep.log': { kind: 'file', content: 'keep' },
      'stale.log': { kind: 'file', content: 'excluded on B' },
      'sub/keep.log': { kind: 'file', content: 'sub keep' },
      'sub/top.txt': { kind: 'file', content: 'sub top' },
      'sub/': { kind: 'dir' },
      'x.txt': { kind: 'file', content: 'x' },
    });
    assert.equal(summaryOf(r).deleted, 1, 'stale.txt; stale.log is excluded, so left alone (S21)');
  });

  test('the order of --include and --exclude matters: --include keep.log --exclude *.log keeps no log', async (t) => {
    const { A, B } = roots(t, LOGS);
    const r = await cli(['copy', A, B, '--include', 'keep.log', '--exclude', '*.log']);
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(
      Object.keys(contents(B)).filter((p) => p.endsWith('.log')),
      [],
    );
  });

  test('a .concordignore in A root is read (gitignore syntax) and the command line comes after it', async (t) => {
    const { A, B } = roots(
      t,
      {
        '.concordignore': '# comment\n*.tmp\n!important.tmp\ncache/\n',
        'a.tmp': 'a',
        'important.tmp': 'i',
        'other.tmp': 'o',
        'cache/c': 'c',
        'sub/cache/c2': 'c2',
        'sub/d.tmp': 'd',
        'f.txt': 'f',
      },
      { 'b.tmp': 'excluded on B: stays', 'cache/old': 'excluded on B: stays' },
    );
    const r = await cli(['mirror', A, B, '--include', 'other.tmp']);
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(contents(B), {
      '.concordignore': { kind: 'file', content: '# comment\n*.tmp\n!important.tmp\ncache/\n' },
      'b.tmp': { kind: 'file', content: 'excluded on B: stays' },
      'cache/old': { kind: 'file', content: 'excluded on B: stays' },
      'cache/': { kind: 'dir' },
      'f.txt': { kind: 'file', content: 'f' },
      'important.tmp': { kind: 'file', content: 'i' },
      'other.tmp': { kind: 'file', content: 'o' },
      'sub/': { kind: 'dir' },
    });
  });

  test('S21 excluded files on B are not deleted by mirror, even in a directory that is gone from A', async (t) => {
    const { A, B } = roots(
      t,
      { f: 'f' },
      { f: 'f', 'junk.log': 'log', 'gone/keep.log': 'log in gone', 'gone/x': 'x' },
    );
    const r = await cli(['mirror', A, B, '--exclude', '*.log', '--json']);
    assert.deepEqual(contents(B), {
      f: { kind: 'file', content: 'f' },
      'gone/keep.log': { kind: 'file', content: 'log in gone' },
      'gone/': { kind: 'dir' },
      'junk.log': { kind: 'file', content: 'log' },
    });
    assert.deepEqual(contents(onlyTrash(B)), {
      'gone/x': { kind: 'file', content: 'x' },
      'gone/': { kind: 'dir' },
    });
    // gone/ still holds an excluded file: it stays, and that is reported, not hidden.
    assert.deepEqual(problemsOf(r), [{ path: 'gone', code: 'not-empty', side: 'B' }]);
    assert.equal(r.code, 3);
  });
});

describe('--max-delete (S20)', () => {
  const setup = (t: Parameters<typeof roots>[0]) =>
    roots(t, { keep: 'k', 'new': 'n' }, { keep: 'old', x1: '1', x2: '2', 'd/x3': '3' });

  test('a run that would delete more refuses before touching anything: exit 2, one line naming --max-delete', async (t) => {
    const { dir, A, B } = setup(t);
    const before = fingerprint(dir);
    const r = await cli(['mirror', A, B, '--max-delete', '3']);
    assertRefused(r, '--max-delete', '4', B, HAS_FIX);
    assert.deepEqual(fingerprint(dir), before, 'NOTHING changed on disk');
  });

  test('a refused run leaves even the leftover .concord-tmp-* files of B in place', async (t) => {
    const { dir, A, B } = setup(t);
    makeTree(B, { '.concord-tmp-00ff00ff-keep': 'torn', 'd/.concord-tmp-0000aaaa-x3': 'torn' });
    const before = fingerprint(dir);
    const r = await cli(['mirror', A, B, '--max-delete', '1']);
    assertRefused(r, '--max-delete');
    assert.deepEqual(fingerprint(dir), before, 'the guard refuses before any change');
  });

  test('--max-delete 0 refuses any deletion; --json still prints the error on stderr only', async (t) => {
    const { dir, A, B } = setup(t);
    const before = fingerprint(dir);
    const r = await cli(['mirror', A, B, '--max-delete', '0', '--json']);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /--max-delete/);
    assert.equal(r.stderr.trim().split('\n').length, 1);
    assert.equal(
      events(r).some((e) => e.type === 'op'),
      false,
    );
    assert.deepEqual(fingerprint(dir), before);
  });

  test('a run within the limit works', async (t) => {
    const { A, B } = setup(t);
    const r = await cli(['mirror', A, B, '--max-delete', '4', '--json']);
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(contents(B), {
      keep: { kind: 'file', content: 'k' },
      new: { kind: 'file', content: 'n' },
    });
    assert.equal(summaryOf(r).deleted, 4);
    const copy = await cli(['copy', A, B, '--max-delete', '0']);
    assert.equal(copy.code, 0, 'copy deletes nothing, so 0 is within the limit');
  });
});

describe('--no-trash', () => {
  test('deleted and overwritten entries go for good: no .concord/trash is created', async (t) => {
    const { A, B } = roots(t, BUSY_A, BUSY_B);
    const r = await cli(['mirror', A, B, '--no-trash', '--json']);
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(readTree(B), readTree(A));
    assert.equal(existsSync(join(B, '.concord')), false);
    assert.equal(summaryOf(r).deleted, 3);
    assert.deepEqual(tempFiles(B), []);
  });
});

describe('--concurrency and --fsync', () => {
  const many = (): Spec => {
    const spec: Spec = {};
    for (let i = 0; i < 60; i++) spec[`d${i % 4}/f${i}`] = { content: `file ${i}`, mtime: T1 + i };
    spec.big = { content: Buffer.alloc(2 * 1024 * 1024, 'z'), mtime: T2 };
    return spec;
  };

  for (const n of ['1', '1024']) {
    test(`--concurrency ${n} copies everything`, async (t) => {
      const { A, B } = roots(t, many());
      const r = await cli(['mirror', A, B, '--concurrency', n]);
      assert.equal(r.code, 0, r.stderr);
      assert.deepEqual(readTree(B), readTree(A));
    });
  }

  test('bad --concurrency values are refused with exit 2 and nothing changed', async (t) => {
    const { dir, A, B } = roots(t, { f: 'f' });
    const before = fingerprint(dir);
    const bad = ['0', '-1', 'abc', '1.5', '1025', ''];
    const results = await Promise.all(bad.map((v) => cli(['mirror', A, B, `--concurrency=${v}`])));
    results.forEach((r, k) => {
      assert.equal(r.code, 2, `--concurrency=${bad[k]}`);
      assertRefused(r, '--concurrency');
    });
    assert.deepEqual(fingerprint(dir), before);
  });

  test('--fsync works: the same tree, no temp files left', async (t) => {
    const { dir, A, B } = roots(t, many(), { 'd0/f0': 'old', extra: 'e' });
    const r = await cli(['mirror', A, B, '--fsync', '--json']);
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(readTree(B), readTree(A));
    assert.deepEqual(tempFiles(dir), []);
    assert.equal(summaryOf(r).updated, 1);
  });
});
