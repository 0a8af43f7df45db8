/**
 * Roots on a file system unlike the source's: exFAT (USB drives, SD cards) through FUSE, which
 * finds names in any case, shows every file as 0777 and keeps mtimes to the second. S23: names
 * equal but for case never overwrite each other, and a case-only rename is a rename. S12: a
 * second run on such a root plans nothing. Needs root (loop device and mount).
 */
import assert from 'node:assert/strict';
import {
  lstatSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  renameSync,
  utimesSync,
  writeFileSync,
} from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { LocalEndpoint } from '../../src/endpoint/local/local.ts';
import { POSIX_CAPABILITIES } from '../../src/endpoint/local/probe.ts';
import { exfatRoot } from '../helpers/exfat.ts';
import {
  cli,
  contents,
  counts,
  problemsOf,
  roots,
  summaryOf,
  T1,
  T2,
  tempDir,
  tempFiles,
  trashStamps,
  ZERO,
} from './helpers.ts';

const modeOf = (p: string) => lstatSync(p).mode & 0o7777;

describe('a root on exFAT', () => {
  test('capabilities are asked of the file system: exFAT is case-insensitive, keeps no modes and no symlinks, and mtimes to the second; the disk the tests run on is POSIX', async (t) => {
    const ex = exfatRoot(t);
    mkdirSync(join(ex, 'root', '.concord'), { recursive: true });
    const caps = await new LocalEndpoint({ root: join(ex, 'root') }).capabilities();
    assert.deepEqual(caps, {
      caseInsensitive: true,
      keepsModes: false,
      canSymlink: false,
      mtimePrecisionNs: 1_000_000_000n,
    });
    // Asked without .concord/ (a mirror's target), and of a root not made yet (its parent).
    assert.equal((await new LocalEndpoint({ root: ex }).capabilities()).caseInsensitive, true);
    const later = join(ex, 'later');
    assert.equal((await new LocalEndpoint({ root: later }).capabilities()).caseInsensitive, true);
    assert.deepEqual(readdirSync(ex).sort(), ['root'], 'the probe leaves nothing behind');
    const disk = tempDir(t);
    assert.deepEqual(await new LocalEndpoint({ root: disk }).capabilities(), POSIX_CAPABILITIES);
  });

  test('S23 mirror: two source names equal but for case are neither copied, and what the target holds under that name is kept', async (t) => {
    const { A } = roots(t, { 'Notes.txt': 'first', 'other.txt': 'other' });
    const B = join(exfatRoot(t), 'B');
    assert.equal((await cli(['mirror', A, B])).code, 0);
    writeFileSync(join(A, 'notes.txt'), 'second, lower case');
    writeFileSync(join(A, 'Notes.txt'), 'first, edited');
    const r = await cli(['mirror', A, B, '--json']);
    assert.equal(r.code, 3, r.stderr);
    assert.deepEqual(
      problemsOf(r).map((p) => [p.path, p.code, p.side]),
      [
        ['Notes.txt', 'case-conflict', 'B'],
        ['notes.txt', 'case-conflict', 'B'],
      ],
    );
    const [first] = summaryOf(r).problems as { message: string; hint: string }[];
    assert.match(first?.message ?? '', /differs from "notes\.txt" only in case/);
    assert.match(first?.hint ?? '', /rename/);
    assert.deepEqual(readdirSync(B).sort(), ['Notes.txt', 'other.txt']);
    assert.equal(readFileSync(join(B, 'Notes.txt'), 'utf8'), 'first', 'neither version written');
    assert.deepEqual(trashStamps(B), [], 'and nothing deleted');
    // Once one of them is renamed, both go over.
    renameSync(join(A, 'notes.txt'), join(A, 'notes-2.txt'));
    const fixed = await cli(['mirror', A, B]);
    assert.equal(fixed.code, 0, fixed.stderr);
    assert.deepEqual(contents(B), contents(A));
  });

  test('S23 mirror: a case-only rename of a file and of a directory on A renames them on B, nothing copied or trashed; S12: the next run plans nothing', async (t) => {
    const { A } = roots(t, {
      'readme.md': { content: 'read me', mtime: T1 },
      'photos/img1.jpg': { content: 'jpeg', mtime: T2 },
    });
    const B = join(exfatRoot(t), 'B');
    assert.equal((await cli(['mirror', A, B])).code, 0);
    renameSync(join(A, 'readme.md'), join(A, 'README.md'));
    renameSync(join(A, 'photos'), join(A, 'Photos'));
    utimesSync(A, T1, T1); // the root's own times are not what this test is about
    const r = await cli(['mirror', A, B, '--json']);
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(counts(r), { ...ZERO, moved: 2 });
    assert.deepEqual(readdirSync(B).sort(), ['Photos', 'README.md']);
    assert.deepEqual(contents(B), contents(A));
    assert.deepEqual(trashStamps(B), []);
    const again = await cli(['mirror', A, B, '--json']);
    assert.deepEqual(counts(again), ZERO);
  });

  test('S23 mirror: a case-only rename of an edited file renames it on B, then replaces its content; a file on A whose name B holds as a folder in another case is reported, both left', async (t) => {
    const { A } = roots(t, { 'a.txt': 'new content', Ab: 'a file' });
    const B = join(exfatRoot(t), 'B');
    mkdirSync(join(B, 'ab'), { recursive: true });
    writeFileSync(join(B, 'ab', 'inside'), 'kept');
    writeFileSync(join(B, 'A.TXT'), 'old');
    const r = await cli(['mirror', A, B, '--json']);
    assert.equal(r.code, 3, r.stderr);
    assert.deepEqual(problemsOf(r), [{ path: 'Ab', code: 'case-conflict', side: 'B' }]);
    assert.deepEqual(
      readdirSync(B)
        .filter((n) => n !== '.concord')
        .sort(),
      ['a.txt', 'ab'],
    );
    assert.equal(readFileSync(join(B, 'a.txt'), 'utf8'), 'new content');
    assert.equal(readFileSync(join(B, 'ab', 'inside'), 'utf8'), 'kept');
  });

  test('S12 mirror onto exFAT: a second run plans nothing, though every mode there reads 0777 and every mtime lost its fraction', async (t) => {
    const { A } = roots(t, {
      'script.sh': { content: '#!/bin/sh\n', mode: 0o755 },
      'secret.key': { content: 'k', mode: 0o600 },
      'sub/deep/file.txt': 'text',
      sub: { dir: true, mode: 0o750 },
    });
    const B = join(exfatRoot(t), 'B');
    assert.equal((await cli(['mirror', A, B])).code, 0);
    assert.equal(modeOf(join(B, 'secret.key')), 0o777, 'exFAT shows fixed bits');
    const again = await cli(['mirror', A, B, '--json']);
    assert.equal(again.code, 0, again.stderr);
    assert.deepEqual(counts(again), ZERO);
  });

  test('a symlink mirrored onto exFAT (which holds none) is reported with a hint naming why, exit 3; the file beside it is copied, and no later run copies anything', async (t) => {
    const { A } = roots(t, { 'f.txt': 'text', link: { link: 'f.txt' } });
    const B = join(exfatRoot(t), 'B');
    for (const run of [1, 2]) {
      const r = await cli(['mirror', A, B, '--json']);
      assert.equal(r.code, 3, r.stderr);
      assert.deepEqual(problemsOf(r), [{ path: 'link', code: 'write-failed', side: 'B' }]);
      const [p] = summaryOf(r).problems as { hint?: string }[];
      assert.match(p?.hint ?? '', /cannot hold symlinks/);
      assert.deepEqual(
        counts(r),
        run === 1 ? { ...ZERO, created: 1, skipped: 1, bytesCopied: 4 } : { ...ZERO, skipped: 1 },
      );
    }
    assert.deepEqual(readdirSync(B), ['f.txt']);
  });

  test('names exFAT refuses (a colon, a question mark, a newline) are reported as refused names with a hint, not as vanished files; the rest is copied', async (t) => {
    const { A } = roots(t, {
      'a:b.txt': '1',
      'why?.txt': '2',
      'dir:x/in.txt': '3',
      'line\nbreak.txt': '4',
      ok: 'ok',
    });
    const B = join(exfatRoot(t), 'B');
    const r = await cli(['mirror', A, B, '--json']);
    assert.equal(r.code, 3, r.stderr);
    const problems = summaryOf(r).problems as { path: string; message: string; hint?: string }[];
    assert.deepEqual(problems.map((p) => p.path).sort(), [
      'a:b.txt',
      'dir:x',
      'line\nbreak.txt',
      'why?.txt',
    ]);
    for (const p of problems) {
      assert.match(p.message, /refuses this name/, p.message);
      assert.match(p.hint ?? '', /rename it on A, or exclude it/);
    }
    assert.deepEqual(readdirSync(B), ['ok']);
  });

  test('a full target: the run stops at the first file that does not fit with one target-full problem (exit 1), nothing half-written; a later run with room finishes', async (t) => {
    const big = (n: number) => Buffer.alloc(9_000_000, n);
    const { A } = roots(
      t,
      Object.fromEntries([1, 2, 3, 4, 5].map((n) => [`big${n}`, { content: big(n) }])),
    );
    const B = join(exfatRoot(t), 'B'); // 32 MB: three of the five fit
    const r = await cli(['mirror', A, B, '--json']);
    assert.equal(r.code, 1, r.stderr);
    const problems = summaryOf(r).problems as { code: string; side: string; hint?: string }[];
    assert.equal(problems.length, 1, JSON.stringify(problems));
    assert.equal(problems[0]?.code, 'target-full');
    assert.equal(problems[0]?.side, 'B');
    assert.match(problems[0]?.hint ?? '', /free space/);
    const there = readdirSync(B).filter((n) => n !== '.concord');
    assert.deepEqual(tempFiles(B), [], 'no temporary file left');
    assert.ok(there.length >= 1 && there.length < 5, there.join());
    for (const name of there)
      assert.ok(readFileSync(join(B, name)).equals(readFileSync(join(A, name))));
    // Room enough once what did not fit is smaller.
    for (const name of readdirSync(A))
      if (!there.includes(name)) writeFileSync(join(A, name), 'small');
    const again = await cli(['mirror', A, B, '--json']);
    assert.equal(again.code, 0, again.stderr);
    assert.deepEqual(contents(B), contents(A));
  });

  test('S25 mirror onto exFAT (mtimes to the second): a same-size edit within the second of the copied version is copied by the next run', async (t) => {
    const { A } = roots(t, { 'f.txt': { content: 'aaaa', mtime: T1 + 0.2 } });
    const B = join(exfatRoot(t), 'B');
    assert.equal((await cli(['mirror', A, B])).code, 0);
    writeFileSync(join(A, 'f.txt'), 'bbbb');
    utimesSync(join(A, 'f.txt'), T1 + 0.7, T1 + 0.7);
    const second = await cli(['mirror', A, B, '--json']);
    assert.equal(second.code, 0, second.stderr);
    assert.deepEqual(counts(second), { ...ZERO, updated: 1, bytesCopied: 4 });
    assert.equal(readFileSync(join(B, 'f.txt'), 'utf8'), 'bbbb');
    assert.deepEqual(counts(await cli(['mirror', A, B, '--json'])), ZERO);
  });

  test('S23 two-way: names equal but for case on A are left alone on both sides (exit 3) until one of them is renamed', async (t) => {
    const { A } = roots(t, { 'Plan.txt': 'upper', 'plan.txt': 'lower', 'keep.txt': 'k' });
    const B = join(exfatRoot(t), 'B');
    mkdirSync(B);
    const r = await cli(['sync', A, B, '--json']);
    assert.equal(r.code, 3, r.stderr);
    assert.deepEqual(
      problemsOf(r).map((p) => [p.path, p.code, p.side]),
      [
        ['Plan.txt', 'case-conflict', 'B'],
        ['plan.txt', 'case-conflict', 'B'],
      ],
    );
    assert.deepEqual(readdirSync(B).sort(), ['.concord', 'keep.txt']);
    assert.equal(readFileSync(join(A, 'Plan.txt'), 'utf8'), 'upper');
    assert.equal(readFileSync(join(A, 'plan.txt'), 'utf8'), 'lower');
    // Reported again on the next run, not settled quietly.
    assert.equal((await cli(['sync', A, B])).code, 3);
    renameSync(join(A, 'plan.txt'), join(A, 'plan-lower.txt'));
    const fixed = await cli(['sync', A, B]);
    assert.equal(fixed.code, 0, fixed.stderr);
    assert.deepEqual(contents(B), contents(A));
  });

  test('S23 two-way: a case-only rename on either side is a rename on the other', async (t) => {
    const { A } = roots(t, { 'docs/report.txt': 'r', 'todo.txt': 't' });
    const B = join(exfatRoot(t), 'B');
    mkdirSync(B);
    assert.equal((await cli(['sync', A, B])).code, 0);
    renameSync(join(A, 'todo.txt'), join(A, 'TODO.txt'));
    renameSync(join(B, 'docs'), join(B, 'Docs'));
    const r = await cli(['sync', A, B, '--json']);
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(counts(r), { ...ZERO, moved: 2 });
    assert.deepEqual(readdirSync(A).sort(), ['.concord', 'Docs', 'TODO.txt']);
    assert.deepEqual(readdirSync(B).sort(), ['.concord', 'Docs', 'TODO.txt']);
    assert.deepEqual(contents(B), contents(A));
    assert.deepEqual(counts(await cli(['sync', A, B, '--json'])), ZERO);
  });

  test('two-way with exFAT: its 0777 never reaches A; a file new there arrives as 0644, an edited one keeps its mode; S12: the next run plans nothing', async (t) => {
    const { A } = roots(t, {
      'run.sh': { content: '#!/bin/sh\n', mode: 0o755 },
      'private.txt': { content: 'p', mode: 0o600 },
    });
    const B = join(exfatRoot(t), 'B');
    mkdirSync(B);
    assert.equal((await cli(['sync', A, B])).code, 0);
    writeFileSync(join(B, 'private.txt'), 'edited on the drive');
    writeFileSync(join(B, 'new.txt'), 'made on the drive');
    mkdirSync(join(B, 'newdir'));
    writeFileSync(join(B, 'newdir', 'f'), 'f');
    const r = await cli(['sync', A, B]);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(readFileSync(join(A, 'private.txt'), 'utf8'), 'edited on the drive');
    assert.equal(modeOf(join(A, 'private.txt')), 0o600);
    assert.equal(modeOf(join(A, 'run.sh')), 0o755);
    assert.equal(modeOf(join(A, 'new.txt')), 0o644);
    assert.equal(modeOf(join(A, 'newdir')), 0o755);
    assert.equal(modeOf(join(A, 'newdir', 'f')), 0o644);
    const again = await cli(['sync', A, B, '--json']);
    assert.deepEqual(counts(again), ZERO);
  });
});
