import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { keepOldVersion } from '../../src/endpoint/local/copy-file.ts';

test('S7: a version kept twice under one trash name gets the next ~N; neither kept version is replaced', () => {
  const dir = mkdtempSync(join(tmpdir(), 'concord-keep-'));
  const live = join(dir, 'f');
  const dest = join(dir, 'trash', 'f');
  writeFileSync(live, 'one');
  assert.equal(keepOldVersion(live, dest), dest);
  writeFileSync(join(dir, 'g'), 'two');
  assert.equal(keepOldVersion(join(dir, 'g'), dest), `${dest}~2`);
  assert.equal(readFileSync(dest, 'utf8'), 'one');
  assert.equal(readFileSync(`${dest}~2`, 'utf8'), 'two');
  assert.equal(statSync(`${dest}~2`).ino, statSync(join(dir, 'g')).ino);
});

test('S7: the next ~N of a 254-byte name is cut to fit 255 bytes instead of failing', () => {
  const dir = mkdtempSync(join(tmpdir(), 'concord-keep-'));
  const long = 'n'.repeat(254);
  const dest = join(dir, 'trash', long);
  writeFileSync(join(dir, 'a'), 'one');
  writeFileSync(join(dir, 'b'), 'two');
  assert.equal(keepOldVersion(join(dir, 'a'), dest), dest);
  const second = keepOldVersion(join(dir, 'b'), dest);
  assert.equal(second, join(dir, 'trash', `${'n'.repeat(253)}~2`));
  assert.equal(readFileSync(second, 'utf8'), 'two');
  assert.equal(readFileSync(dest, 'utf8'), 'one');
});
