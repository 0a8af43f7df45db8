import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { chmodSync, existsSync, lstatSync, symlinkSync, unlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { CLI } from '../helpers/tree.ts';
import {
  assertRefused,
  type CliResult,
  cli,
  contents,
  fingerprint,
  HAS_FIX,
  mkdirp,
  prepareForNobody,
  problemsOf,
  readTree,
  roots,
  summaryOf,
  T1,
  tempFiles,
} from './helpers.ts';

type Ctx = Parameters<typeof roots>[0];

/** A source with content and an existing destination with other content. */
function pair(t: Ctx) {
  return roots(t, { 'f.txt': 'from A', 'sub/g': 'g' }, { 'h.txt': 'on B', 'sub/old': 'old' });
}

type Case = [args: string[], ...needles: (string | RegExp)[]];

/**
 * Runs each case's `concord ARGS` (at once: a refusal touches nothing) and checks: exit 2, one
 * line naming each needle, and nothing changed in `dir`.
 */
async function refused(dir: string, ...cases: Case[]): Promise<CliResult[]> {
  const before = fingerprint(dir);
  // In `dir`: a relative or empty root a regression takes is then inside what is checked,
  // never the repository the tests run from.
  const results = await Promise.all(cases.map(([args]) => cli(args, { cwd: dir })));
  results.forEach((r, i) => {
    const [args, ...needles] = cases[i] as Case;
    try {
      assertRefused(r, ...needles);
    } catch (err) {
      (err as Error).message = `concord ${args.join(' ')}: ${(err as Error).message}`;
      throw err;
    }
  });
  assert.deepEqual(fingerprint(dir), before, 'no change on disk');
  return results;
}

function mkfifo(p: string): void {
  const r = spawnSync('mkfifo', [p]);
  assert.equal(r.status, 0, `mkfifo ${p}: ${r.stderr}`);
}

describe('refused with exit 2, one line naming the path and the fix, nothing changed', () => {
  test('missing A', async (t) => {
    const { dir, B } = pair(t);
    const A = join(dir, 'no-such-source');
    await refused(dir, [['mirror', A, B], A, 'does not exist', HAS_FIX]);
  });

  test('B a symlink to nothing: refused naming where it points, nothing made there or through it', async (t) => {
    const { dir, A } = pair(t);
    const B = join(dir, 'link');
    symlinkSync(join(dir, 'nowhere', 'x'), B);
    const C = join(dir, 'link2');
    symlinkSync(join(dir, 'target'), C);
    await refused(
      dir,
      [
        ['mirror', A, B],
        B,
        `is a symlink to ${join(dir, 'nowhere', 'x')}, which does not exist`,
        HAS_FIX,
      ],
      [['sync', A, C], C, 'which does not exist', HAS_FIX],
    );
    assert.equal(existsSync(join(dir, 'target')), false);
  });

  test('run from a directory removed under the shell, with relative roots: one line saying so, exit 2', (t) => {
    const { dir } = pair(t);
    const gone = join(dir, 'gone');
    const r = spawnSync(
      'sh',
      [
        '-c',
        'mkdir "$1" && cd "$1" && rmdir "$1" && exec "$2" "$3" mirror A B',
        'sh',
        gone,
        process.execPath,
        CLI,
      ],
      { encoding: 'utf8' },
    );
    assert.equal(r.status, 2, r.stderr);
    assert.match(
      r.stderr,
      /^concord: the current directory no longer exists \(.*ENOENT.*\) \(cd into one that does, or give absolute paths\)\n$/,
    );
  });

  test('missing A whose name holds a newline: still one line, the newline escaped', async (t) => {
    const { dir, B } = pair(t);
    const A = join(dir, 'no\nsuch');
    await refused(dir, [['mirror', A, B], join(dir, 'no\\nsuch'), 'does not exist', HAS_FIX]);
  });

  test('a root whose name is not UTF-8 is refused, not taken for the directory Node decodes it to', async (t) => {
    // Node reads `B\xfe` as `B\uFFFD`: the mirror went into that other directory and trashed
    // what it held (deleted it, with --no-trash).
    const { dir, A } = pair(t);
    const decoded = join(dir, 'B\uFFFD');
    mkdirp(decoded);
    writeFileSync(join(decoded, 'precious'), 'keep me');
    const before = fingerprint(dir);
    // Bytes no JavaScript string can carry: the shell makes the argument.
    const r = spawnSync(
      'bash',
      [
        '-c',
        'exec "$0" "$1" mirror "$2" "$3$(printf \'\\376\')" --no-trash',
        process.execPath,
        CLI,
        A,
        join(dir, 'B'),
      ],
      { encoding: 'utf8', env: { ...process.env, CONCORD_HOME: join(dir, 'home') } },
    );
    assertRefused(
      { code: r.status ?? -1, stdout: r.stdout, stderr: r.stderr },
      'argument 3',
      'is not valid UTF-8',
      HAS_FIX,
    );
    assert.deepEqual(fingerprint(dir), before, 'nothing changed');
  });

  test('missing A and missing B: B is not created', async (t) => {
    const { dir } = pair(t);
    const B = join(dir, 'new-b');
    await refused(dir, [['copy', join(dir, 'nope'), B], join(dir, 'nope'), HAS_FIX]);
    assert.equal(existsSync(B), false);
  });

  test('A is a file', async (t) => {
    const { dir, A, B } = pair(t);
    const file = join(A, 'f.txt');
    await refused(dir, [['mirror', file, B], file, 'not a directory', HAS_FIX]);
  });

  test("a root's .concord that is a symlink (to a folder outside, or dangling) or a file: nothing written through it", async (t) => {
    const { dir, A, B } = pair(t);
    mkdirp(join(dir, 'elsewhere'));
    symlinkSync('../elsewhere', join(B, '.concord'));
    const state = join(B, '.concord');
    const refusal = [state, 'is a symlink', HAS_FIX] as const;
    await refused(
      dir,
      [['mirror', A, B], ...refusal],
      [['sync', A, B], ...refusal],
      [['backup', A, B], ...refusal],
      [['sync', B, A], ...refusal],
    );
    symlinkSync(join(dir, 'missing'), join(A, '.concord'));
    await refused(dir, [
      ['copy', A, join(dir, 'new')],
      join(A, '.concord'),
      'is a symlink',
      HAS_FIX,
    ]);
    unlinkSync(join(A, '.concord'));
    const file = join(dir, 'c', '.concord');
    mkdirp(join(dir, 'c'));
    writeFileSync(file, 'not a folder');
    await refused(dir, [['mirror', A, join(dir, 'c')], file, 'is a file', HAS_FIX]);
  });

  test('a .concordignore that is no plain file (a FIFO, a symlink, a directory) is refused, not read: no hang, nothing followed', async (t) => {
    const { dir, A, B } = pair(t);
    mkfifo(join(A, '.concordignore'));
    const inA = join(A, '.concordignore');
    await refused(
      dir,
      [['mirror', A, B], inA, 'is a FIFO', HAS_FIX],
      [['sync', A, B], inA, 'is a FIFO', HAS_FIX],
      [['sync', B, A], inA, 'is a FIFO', HAS_FIX],
      [['index', A], inA, 'is a FIFO', HAS_FIX],
    );
    unlinkSync(inA);
    symlinkSync('/dev/zero', inA);
    await refused(dir, [['mirror', A, B], inA, 'is a symlink', HAS_FIX]);
    unlinkSync(inA);
    mkdirp(join(B, '.concordignore'));
    await refused(dir, [['sync', A, B], join(B, '.concordignore'), 'is a directory', HAS_FIX]);
  });

  test('B is a file', async (t) => {
    const { dir, A } = pair(t);
    const file = join(dir, 'B', 'h.txt');
    await refused(dir, [['mirror', A, file], file, 'not a directory', HAS_FIX]);
  });

  test('A and B the same directory, however spelled', async (t) => {
    const { dir, A } = pair(t);
    await refused(
      dir,
      [['mirror', A, A], A, 'same directory', HAS_FIX],
      [['mirror', A, `${A}/`], 'same directory', HAS_FIX],
      [['mirror', A, join(A, 'sub', '..')], 'same directory', HAS_FIX],
    );
    const before = fingerprint(dir);
    const relative = await cli(['copy', 'A', './A/'], { cwd: dir });
    assertRefused(relative, './A/', 'same directory', HAS_FIX);
    assert.deepEqual(fingerprint(dir), before);
  });

  test('A and B the same directory through a bind mount (two paths, one directory)', async (t) => {
    const { dir, A } = pair(t);
    const B = join(dir, 'bound');
    mkdirp(B);
    const mounted = spawnSync('mount', ['--bind', A, B]);
    assert.equal(mounted.status, 0, `mount --bind: ${mounted.stderr}`);
    try {
      await refused(
        A,
        [['sync', A, B], B, 'same directory', HAS_FIX],
        [['mirror', A, B], B, 'same directory', HAS_FIX],
      );
    } finally {
      spawnSync('umount', [B]); // before the temporary folder is removed
    }
  });

  test('B inside A, and A inside B, through a bind mount: the paths do not show it, the directories do', async (t) => {
    const { dir, A, B } = pair(t);
    const boundA = join(dir, 'boundA');
    const boundB = join(dir, 'boundB');
    mkdirp(boundA);
    mkdirp(boundB);
    for (const [from, to] of [
      [A, boundA],
      [B, boundB],
    ] as const) {
      const mounted = spawnSync('mount', ['--bind', from, to]);
      assert.equal(mounted.status, 0, `mount --bind: ${mounted.stderr}`);
    }
    try {
      // boundA/sub is A/sub: a mirror would copy A into itself, once more on every run.
      await refused(
        dir,
        [['mirror', A, join(boundA, 'sub')], join(boundA, 'sub'), 'inside the source', HAS_FIX],
        [['mirror', A, join(boundA, 'new-dir')], 'inside the source', HAS_FIX],
        [['sync', join(boundA, 'sub'), A], 'the source lies inside', HAS_FIX],
        [['mirror', join(boundB, 'sub'), B], 'the source lies inside', HAS_FIX],
      );
      assert.equal(existsSync(join(A, 'new-dir')), false);
    } finally {
      // Before the temporary folder is removed.
      spawnSync('umount', [boundA]);
      spawnSync('umount', [boundB]);
    }
  });

  test('B inside A (existing and not yet existing)', async (t) => {
    const { dir, A } = pair(t);
    await refused(
      dir,
      [['mirror', A, join(A, 'sub')], join(A, 'sub'), 'inside', HAS_FIX],
      [['mirror', A, join(A, 'new-dir')], join(A, 'new-dir'), 'inside', HAS_FIX],
    );
    assert.equal(existsSync(join(A, 'new-dir')), false);
  });

  test('A inside B', async (t) => {
    const { dir, B } = pair(t);
    const inner = join(B, 'sub');
    await refused(dir, [['mirror', inner, B], inner, 'inside', HAS_FIX]);
  });

  test('the same through a symlink to the directory (same, B inside A, A inside B)', async (t) => {
    const { dir, A, B } = pair(t);
    const linkA = join(dir, 'link-to-A');
    const linkDir = join(dir, 'link-to-dir');
    symlinkSync(A, linkA);
    symlinkSync(dir, linkDir);
    await refused(
      dir,
      [['mirror', A, linkA], linkA, 'same directory', HAS_FIX],
      [['mirror', linkA, A], 'same directory', HAS_FIX],
      [['mirror', A, join(linkA, 'sub')], join(linkA, 'sub'), 'inside', HAS_FIX],
      [['mirror', A, join(linkA, 'fresh')], join(linkA, 'fresh'), 'inside'],
      [['mirror', join(linkDir, 'B', 'sub'), B], 'inside', HAS_FIX],
      [['mirror', A, linkDir], 'inside', HAS_FIX],
    );
  });

  test("B's parent missing", async (t) => {
    const { dir, A } = pair(t);
    const B = join(dir, 'no', 'such', 'B');
    await refused(dir, [['mirror', A, B], B, 'does not exist', HAS_FIX]);
    assert.equal(existsSync(join(dir, 'no')), false);
  });

  test('unknown option', async (t) => {
    const { dir, A, B } = pair(t);
    await refused(
      dir,
      [['mirror', A, B, '--frobnicate'], '--frobnicate', HAS_FIX],
      [['copy', A, B, '-Z'], '-Z', HAS_FIX],
    );
  });

  test('unknown command', async (t) => {
    const { dir, A, B } = pair(t);
    await refused(
      dir,
      [['frobnicate', A, B], "'frobnicate'", HAS_FIX],
      [['mirorr', A, B], 'mirorr', HAS_FIX],
    );
  });

  test('missing or extra positional arguments', async (t) => {
    const { dir, A, B } = pair(t);
    await refused(
      dir,
      [['mirror', A], 'two roots', HAS_FIX],
      [['copy'], 'two roots', HAS_FIX],
      [['mirror', A, B, join(dir, 'C')], join(dir, 'C'), HAS_FIX],
    );
  });

  test("an empty path as a root, and a value starting with '-' given apart (--max-delete -1): one line that says how", async (t) => {
    const { dir, A, B } = pair(t);
    await refused(
      dir,
      [['copy', '', B], 'an empty path was given as the source', HAS_FIX],
      [['sync', A, ''], 'an empty path was given as the destination', HAS_FIX],
      [['mirror', A, B, '--max-delete', '-1'], '--max-delete needs a value', '--max-delete=VALUE'],
    );
  });

  for (const [opt, values] of [
    ['--max-delete', ['-1', 'abc', '1.5', '', '1e3']],
    ['--concurrency', ['0', 'many', '2.5', '100000']],
    ['--modify-window', ['abc', '-1', '1,5', '', '2s']],
  ] as const) {
    test(`bad value of ${opt}`, async (t) => {
      const { dir, A, B } = pair(t);
      const results = await refused(
        dir,
        ...values.map((v): Case => [['mirror', A, B, `${opt}=${v}`], opt]),
        [['mirror', A, B, opt], opt],
      );
      values.forEach((v, i) => {
        const r = results[i] as CliResult;
        if (v !== '') assert.ok(r.stderr.includes(`'${v}'`), `names the bad value: ${r.stderr}`);
      });
    });
  }

  test('bad value of --mode, and --mode where the command fixes it', async (t) => {
    const { dir, A, B } = pair(t);
    await refused(
      dir,
      [['sync', A, B, '--mode', 'bogus'], "'bogus'", /replica/, HAS_FIX],
      [['mirror', A, B, '--mode', 'replica'], '--mode', HAS_FIX],
    );
  });

  test('backup refuses --no-trash, and retention flags go with backup only', async (t) => {
    const { dir, A, B } = pair(t);
    await refused(
      dir,
      [['sync', A, B, '--mode', 'backup', '--no-trash'], '--no-trash', HAS_FIX],
      [['mirror', A, B, '--keep-last', '3'], '--keep-last', HAS_FIX],
      [['backup', A, B, '--keep-within', 'soon'], "'soon'", HAS_FIX],
    );
  });

  test('two-way options are refused with one-way modes', async (t) => {
    const { dir, A, B } = pair(t);
    await refused(
      dir,
      [['mirror', A, B, '--conflict', 'keep-both'], '--conflict', 'two-way', HAS_FIX],
      [['sync', A, B, '--conflict', 'keep-nothing'], 'keep-nothing', 'keep-both', HAS_FIX],
      [['sync', A, B, '--conflict-fallback', 'prompt'], 'prompt', HAS_FIX],
    );
  });

  test('sync --mode mirror and --mode replica work like mirror and copy', async (t) => {
    const { A, B } = pair(t);
    const r = await cli(['sync', A, B, '--mode', 'replica', '--json']);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(summaryOf(r).mode, 'replica');
    assert.ok(existsSync(join(B, 'h.txt')));
    const m = await cli(['sync', A, B, '--mode=mirror', '--json']);
    assert.equal(m.code, 0, m.stderr);
    assert.deepEqual(readTree(B), readTree(A));
  });

  test('a destination that cannot be created (parent not writable): no stack trace', async (t) => {
    const { dir, A } = roots(t, { f: 'f' });
    const parent = mkdirp(join(dir, 'locked'));
    writeFileSync(join(parent, 'marker'), 'm');
    chmodSync(parent, 0o555);
    const as = prepareForNobody(dir);
    const B = join(parent, 'B');
    const before = fingerprint(dir);
    const r = await cli(['mirror', A, B], as);
    assert.doesNotMatch(r.stderr, /internal error| {4}at /);
    assertRefused(r, B, HAS_FIX);
    assert.deepEqual(fingerprint(dir), before);
  });

  test('an unreadable source root', async (t) => {
    const { dir, A, B } = pair(t);
    chmodSync(A, 0o000);
    const as = prepareForNobody(dir);
    const before = fingerprint(dir);
    const r = await cli(['mirror', A, B], as);
    assertRefused(r, A, HAS_FIX);
    assert.deepEqual(fingerprint(dir), before);
  });
});

describe('problems: exit 3, listed, and the run goes on for other files', () => {
  test('a FIFO in A is skipped and listed; B gets everything else', async (t) => {
    const { dir, A, B } = roots(t, { f: { content: 'f', mtime: T1 }, 'sub/g': 'g' });
    mkfifo(join(A, 'pipe'));
    mkfifo(join(A, 'sub', 'pipe2'));
    const r = await cli(['mirror', A, B, '--json']);
    assert.equal(r.code, 3, r.stderr);
    assert.deepEqual(
      problemsOf(r).sort((x, y) => x.path.localeCompare(y.path)),
      [
        { path: 'pipe', code: 'special-file', side: 'A' },
        { path: 'sub/pipe2', code: 'special-file', side: 'A' },
      ],
    );
    assert.equal(summaryOf(r).skipped, 2);
    assert.deepEqual(contents(B), {
      f: { kind: 'file', content: 'f' },
      'sub/g': { kind: 'file', content: 'g' },
      'sub/': { kind: 'dir' },
    });
    const human = await cli(['mirror', A, B]);
    assert.equal(human.code, 3);
    assert.match(human.stderr, /^concord: A pipe: .*FIFO/m);
    assert.match(human.stderr, /^concord: A sub\/pipe2: /m);
    assert.equal(lstatSync(join(A, 'pipe')).isFIFO(), true, 'the source is left alone');
    assert.deepEqual(tempFiles(dir), []);
  });

  test('S17 a FIFO on B is never deleted or written through: listed as a problem', async (t) => {
    const { A, B } = roots(t, { f: 'f', p: 'a file on A' }, { x: 'x' });
    mkfifo(join(B, 'extra-pipe'));
    mkfifo(join(B, 'p'));
    const r = await cli(['mirror', A, B, '--json']);
    assert.equal(r.code, 3, r.stderr);
    const paths = problemsOf(r).map((p) => `${p.side} ${p.path}`);
    assert.ok(paths.includes('B extra-pipe'), paths.join(', '));
    assert.ok(paths.includes('B p'), paths.join(', '));
    assert.equal(lstatSync(join(B, 'extra-pipe')).isFIFO(), true);
    assert.equal(lstatSync(join(B, 'p')).isFIFO(), true);
    assert.deepEqual(contents(B), { f: { kind: 'file', content: 'f' } });
  });

  test('an unreadable file in A is a problem; B keeps its version, no partial copy', async (t) => {
    const { dir, A, B } = roots(
      t,
      { 'ok.txt': 'fine', secret: 'new secret', secret2: 'never on B', 'z.txt': 'after' },
      { secret: 'old secret on B', 'gone.txt': 'extra' },
    );
    chmodSync(join(A, 'secret'), 0o000);
    chmodSync(join(A, 'secret2'), 0o000);
    const as = prepareForNobody(dir);
    const r = await cli(['mirror', A, B, '--json'], as);
    assert.equal(r.code, 3, r.stderr);
    assert.deepEqual(
      problemsOf(r)
        .map((p) => `${p.side} ${p.path} ${p.code}`)
        .sort(),
      ['A secret unreadable', 'A secret2 unreadable'],
    );
    assert.deepEqual(contents(B), {
      'ok.txt': { kind: 'file', content: 'fine' },
      secret: { kind: 'file', content: 'old secret on B' },
      'z.txt': { kind: 'file', content: 'after' },
    });
    assert.deepEqual(tempFiles(dir), [], 'S14: the failed copies left no temp file');
  });

  test('S17 an unreadable directory in A: nothing under its counterpart on B is deleted', async (t) => {
    const { dir, A, B } = roots(
      t,
      { 'd/inner': 'in A/d', 'e/keep': 'k', top: 't' },
      { 'd/x': 'precious on B', 'd/sub/y': 'also precious', 'e/extra': 'e', gone: 'g' },
    );
    chmodSync(join(A, 'd'), 0o000);
    const as = prepareForNobody(dir);
    const r = await cli(['mirror', A, B, '--json'], as);
    assert.equal(r.code, 3, r.stderr);
    const probs = problemsOf(r);
    assert.deepEqual(probs, [{ path: 'd', code: 'unreadable', side: 'A' }]);
    const b = contents(B);
    assert.equal(b['d/x']?.content, 'precious on B');
    assert.equal(b['d/sub/y']?.content, 'also precious');
    // Elsewhere the mirror did its work.
    assert.equal(b['e/keep']?.content, 'k');
    assert.equal(b.top?.content, 't');
    assert.equal(b['e/extra'], undefined);
    assert.equal(b.gone, undefined);
    const human = await cli(['mirror', A, B], as);
    assert.equal(human.code, 3);
    assert.match(human.stderr, /^concord: A d: .*permission denied/m);
  });

  test('S17 a directory in A that lists but whose entries cannot be stat-ed: the entries in error stay untouched on B, with the native lister and without', async (t) => {
    for (const native of ['1', '0']) {
      const { dir, A, B } = roots(
        t,
        { 'd/inner': 'in A/d', top: 't' },
        { 'd/inner': 'old on B', 'd/x': 'extra on B', gone: 'g' },
      );
      // Readable, not searchable: readdir works, every stat under it fails (EACCES).
      chmodSync(join(A, 'd'), 0o444);
      const as = prepareForNobody(dir);
      const r = await cli(['mirror', A, B, '--json'], { ...as, env: { CONCORD_NATIVE: native } });
      assert.equal(r.code, 3, r.stderr);
      assert.deepEqual(
        problemsOf(r).map((p) => `${p.side} ${p.path} ${p.code}`),
        ['A d/inner unreadable'],
        `CONCORD_NATIVE=${native}`,
      );
      const b = contents(B);
      // The entry in error is neither replaced nor deleted; the names were read in full, so
      // what B holds beyond them is extra, as a mirror says.
      assert.equal(b['d/inner']?.content, 'old on B', `CONCORD_NATIVE=${native}`);
      assert.equal(b['d/x'], undefined, `CONCORD_NATIVE=${native}`);
      assert.equal(b.top?.content, 't');
      assert.equal(b.gone, undefined);
    }
  });

  test('S17 an unreadable directory in A that B lacks is not filled in, and the run goes on', async (t) => {
    const { dir, A, B } = roots(t, { 'd/inner': 'in A/d', f: 'f' }, {});
    chmodSync(join(A, 'd'), 0o000);
    const as = prepareForNobody(dir);
    const r = await cli(['mirror', A, B, '--json'], as);
    assert.equal(r.code, 3, r.stderr);
    assert.deepEqual(problemsOf(r), [{ path: 'd', code: 'unreadable', side: 'A' }]);
    assert.equal(contents(B).f?.content, 'f');
    assert.equal(contents(B)['d/inner'], undefined);
  });
});
