import assert from 'node:assert/strict';
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { giveToNobody } from '../helpers/nobody.ts';
import { makeTree, readTree, runCli, tempDir } from '../helpers/tree.ts';

function setup(t: Parameters<typeof tempDir>[0]) {
  const dir = tempDir(t);
  const root = join(dir, 'root');
  makeTree(root, {
    'a.txt': 'alpha',
    'docs/b.md': 'bravo!',
    'docs/old.txt': 'old',
    link: { link: 'a.txt' },
  });
  return { dir, root, env: { CONCORD_HOME: join(dir, 'home') } };
}

describe('concord index', () => {
  test('prints counts; the state database and the root marker are created on first use', async (t) => {
    const { dir, root, env } = setup(t);
    const r = await runCli(['index', root], { env });
    assert.equal(r.code, 0, r.stderr);
    assert.equal(
      r.stdout,
      `Indexed ${root}: 3 files (14 B), 1 directories, 1 symlinks; hashed now 3, reused 0\n`,
    );
    assert.ok(existsSync(join(dir, 'home', 'state.db')));
    assert.match(readFileSync(join(root, '.concord', 'root-id'), 'utf8'), /^[0-9a-f]{32}\n$/);
  });

  test('--json prints one object with the counts', async (t) => {
    const { root, env } = setup(t);
    const r = await runCli(['index', '--json', root], { env });
    const doc = JSON.parse(r.stdout) as Record<string, unknown>;
    assert.equal(doc.type, 'index');
    assert.deepEqual(
      [doc.files, doc.dirs, doc.symlinks, doc.bytes, doc.hashedNow, doc.entries],
      [3, 1, 1, 14, 3, 5],
    );
    assert.deepEqual(doc.problems, []);
  });

  test('writes nothing into the root but its marker, and leaves the root directory times alone', async (t) => {
    const { root, env } = setup(t);
    const before = readTree(root);
    await runCli(['index', root], { env });
    assert.deepEqual(readTree(root), before);
  });

  test('a root it may not write into is indexed under its path: no marker, status still works', async (t) => {
    const { dir, root } = setup(t);
    chmodSync(dir, 0o755);
    const before = readTree(root, { withState: true });
    const r = await runCli(['index', root], { asNobody: true });
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /hashed now 3, reused 0/);
    assert.deepEqual(readTree(root, { withState: true }), before, 'nothing written into the root');
    const s = await runCli(['status', root], { asNobody: true });
    assert.equal(s.code, 0, s.stderr);
    assert.equal(s.stdout, '');
  });

  test('status and index with a directory they cannot read: the problem on stderr, exit 3 (it is not known to be unchanged)', async (t) => {
    const { dir, root } = setup(t);
    chmodSync(dir, 0o755);
    giveToNobody(root);
    const first = await runCli(['index', root], { asNobody: true });
    assert.equal(first.code, 0, first.stderr);
    mkdirSync(join(root, 'closed'));
    giveToNobody(join(root, 'closed'));
    chmodSync(join(root, 'closed'), 0o000);
    const s = await runCli(['status', root], { asNobody: true });
    assert.equal(s.code, 3, s.stderr);
    assert.match(s.stderr, /closed: cannot list directory: permission denied/);
    const again = await runCli(['index', root], { asNobody: true });
    assert.equal(again.code, 3, again.stderr);
  });

  test('bad input: a missing root, two roots, an unknown option: exit 2, one line', async (t) => {
    const { dir, root, env } = setup(t);
    const missing = await runCli(['index', join(dir, 'nope')], { env });
    assert.equal(missing.code, 2);
    assert.equal(
      missing.stderr,
      `concord: ${join(dir, 'nope')}: does not exist (check the source path)\n`,
    );
    const two = await runCli(['index', root, root], { env });
    assert.equal(two.code, 2);
    assert.match(two.stderr, /^concord: index takes one root, got 2/);
    const opt = await runCli(['index', '--fast', root], { env });
    assert.equal(opt.code, 2);
    assert.equal(opt.stderr, 'concord: unknown option --fast (see concord --help)\n');
  });
});

describe('concord status', () => {
  test('lists new, modified, metadata-only and deleted paths since the index, one per line by path, exit 0', async (t) => {
    const { root, env } = setup(t);
    await runCli(['index', root], { env });
    writeFileSync(join(root, 'a.txt'), 'ALPHA, longer');
    writeFileSync(join(root, 'docs', 'c.txt'), 'new');
    makeTree(root, { 'fresh/x': 'x', 'fresh/y': 'y' });
    await import('node:fs').then((fs) => {
      fs.rmSync(join(root, 'docs', 'old.txt'));
      fs.chmodSync(join(root, 'docs', 'b.md'), 0o600);
    });
    const r = await runCli(['status', root], { env });
    assert.equal(r.code, 0, r.stderr);
    assert.equal(
      r.stdout,
      [
        'modified a.txt',
        'metadata docs/b.md',
        'new      docs/c.txt',
        'deleted  docs/old.txt',
        'new      fresh/',
        'new      fresh/x',
        'new      fresh/y',
        '',
      ].join('\n'),
    );
    // status changes nothing: asked again, it says the same.
    assert.equal((await runCli(['status', root], { env })).stdout, r.stdout);
  });

  test('--json: the changes as one object', async (t) => {
    const { root, env } = setup(t);
    await runCli(['index', root], { env });
    writeFileSync(join(root, 'docs', 'c.txt'), 'new');
    const r = await runCli(['status', '--json', root], { env });
    const doc = JSON.parse(r.stdout) as { type: string; changes: unknown[] };
    assert.equal(doc.type, 'status');
    assert.deepEqual(doc.changes, [{ path: 'docs/c.txt', kind: 'new', entry: 'file' }]);
  });

  test('a root never indexed: exit 2 naming the command that makes its index; nothing written', async (t) => {
    const { root, env } = setup(t);
    const before = readTree(root, { withState: true });
    const r = await runCli(['status', root], { env });
    assert.equal(r.code, 2);
    assert.equal(
      r.stderr,
      `concord: ${root}: this root has no index yet (run concord index ${root} first)\n`,
    );
    assert.deepEqual(readTree(root, { withState: true }), before);
  });
});
