import assert from 'node:assert/strict';
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readlinkSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import type { Entry } from '../../src/core/entry.ts';
import { LocalEndpoint } from '../../src/endpoint/local/local.ts';

function present(e: Entry | undefined): Entry {
  assert.ok(e, 'the entry is there');
  return e;
}

/**
 * A run trashes the symlink x/d (pointing outside the root), then x/d becomes a directory and
 * something below it is removed in the same run: its place in the trash would be reached
 * through the trashed symlink, and mkdir -p and rename follow symlinks.
 */
function setup() {
  const base = mkdtempSync(join(tmpdir(), 'concord-trash-parents-'));
  const root = join(base, 'root');
  const outside = join(base, 'outside');
  mkdirSync(join(root, 'x'), { recursive: true });
  mkdirSync(outside);
  symlinkSync(outside, join(root, 'x', 'd'));
  const trashDir = join(root, '.concord', 'trash', '20261201-080000');
  return { root, outside, trashDir, ep: new LocalEndpoint({ root, trashDir }) };
}

test('S7 S14: nothing is ever written through a symlink the run trashed: removing below its path refuses, the entry stays, and the symlink target is untouched', async () => {
  const { root, outside, trashDir, ep } = setup();
  const link = await ep.stat('x/d');
  assert.equal(link?.kind, 'symlink');
  await ep.remove('x/d', { type: 'same', entry: present(link) });
  assert.equal(readlinkSync(join(trashDir, 'x', 'd')), outside);

  mkdirSync(join(root, 'x', 'd'));
  writeFileSync(join(root, 'x', 'd', 'f'), 'keep me');
  const f = await ep.stat('x/d/f');
  await assert.rejects(
    ep.remove('x/d/f', { type: 'same', entry: present(f) }),
    /cannot keep x\/d\/f in the trash: this run trashed x\/d there as a symlink/,
  );
  assert.ok(existsSync(join(root, 'x', 'd', 'f')), 'the entry stays in place');
  assert.deepEqual(readdirSync(outside), [], 'nothing was written outside the root');

  // An overwrite keeps its old version in the trash the same way: refused too.
  const g = await ep.stat('x/d/f');
  await assert.rejects(
    ep.write(
      'x/d/f',
      {
        type: 'stream',
        data: (async function* () {
          yield Buffer.from('new');
        })(),
      },
      { mode: 0o644, mtimeNs: 1_700_000_000_000_000_000n },
      { type: 'same', entry: present(g) },
    ),
    /cannot keep x\/d\/f in the trash/,
  );
  assert.deepEqual(readdirSync(outside), []);
});

test('S7: a path below a directory the run already trashed goes to the trash as usual', async () => {
  const { root, trashDir, ep } = setup();
  mkdirSync(join(root, 'y', 'z'), { recursive: true });
  writeFileSync(join(root, 'y', 'z', 'a'), 'a');
  writeFileSync(join(root, 'y', 'z', 'b'), 'b');
  for (const name of ['a', 'b']) {
    const e = await ep.stat(`y/z/${name}`);
    await ep.remove(`y/z/${name}`, { type: 'same', entry: present(e) });
  }
  assert.deepEqual(readdirSync(join(trashDir, 'y', 'z')).sort(), ['a', 'b']);
});
