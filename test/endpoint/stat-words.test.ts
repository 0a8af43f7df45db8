import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, symlinkSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { WORDS } from '../../src/core/packed.ts';
import { listDir, listDirPacked } from '../../src/endpoint/local/listing.ts';
import { entryOf, lstatOrUndefined } from '../../src/endpoint/local/stat.ts';
import { rawStatInto, statIntoSlow } from '../../src/endpoint/local/stat-words.ts';
import { tempDir } from '../helpers/tree.ts';

function fixture(root: string): string[] {
  mkdirSync(join(root, 'd'), { mode: 0o750 });
  writeFileSync(join(root, 'f'), 'hello');
  writeFileSync(join(root, 'big'), Buffer.alloc(70_000));
  symlinkSync('f', join(root, 'l'));
  writeFileSync(join(root, 'old'), 'x');
  utimesSync(join(root, 'old'), -1.5, -1.5); // before 1970: negative seconds
  writeFileSync(join(root, 'future'), 'x');
  utimesSync(join(root, 'future'), 4_102_444_800.25, 4_102_444_800.25); // 2100
  const names = ['big', 'd', 'f', 'future', 'l', 'old'];
  if (spawnSync('mkfifo', [join(root, 'p')]).status === 0) names.push('p');
  return names;
}

test('the raw lstat binding, when used, writes exactly what lstatSync reports', (t) => {
  const root = tempDir(t);
  const names = fixture(root);
  const fast = rawStatInto(root);
  // Node 20 on Linux has the binding; elsewhere the fallback is all there is to test.
  if (process.platform === 'linux') assert.ok(fast, 'raw binding expected on Linux');
  if (!fast) return;
  for (const name of [...names, 'missing']) {
    const p = join(root, name);
    const a = new Int32Array(WORDS);
    const b = new Int32Array(WORDS);
    const ka = fast(p, a, 0);
    const kb = statIntoSlow(p, b, 0);
    assert.equal(ka, kb, name);
    if (kb !== undefined && kb >= 0) assert.deepEqual([...a], [...b], name);
  }
  assert.throws(() => fast(join(root, 'f', 'below-a-file'), new Int32Array(WORDS), 0), {
    code: 'ENOTDIR',
  });
});

test('rawStatInto refuses a probe it cannot check', () => {
  assert.equal(rawStatInto('/no/such/dir/at/all'), undefined);
});

test('packed listings unpack to the entries stat reports', (t) => {
  const root = tempDir(t);
  fixture(root);
  const listed = listDir(root, '');
  for (const e of listed.entries) {
    const abs = join(root, e.name);
    const st = lstatOrUndefined(abs);
    assert.ok(st);
    assert.deepEqual(e, entryOf(e.name, abs, st));
  }
  const fast = rawStatInto(root);
  if (fast) assert.deepEqual(listDirPacked(root, '', fast), listDirPacked(root, ''));
});
