import assert from 'node:assert/strict';
import { lstatSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { ensureStateDir } from '../../src/endpoint/local/state-dir.ts';
import { TimeSetter } from '../e2e/arbitraries.ts';

test('S12: making .concord/ in a root puts back the root mtime to the nanosecond', async (t) => {
  const root = mkdtempSync(join(tmpdir(), 'concord-statedir-'));
  t.after(() => rmSync(root, { recursive: true, force: true }));
  const times = new TimeSetter();
  t.after(() => times.close());
  const stamp = 1_700_000_000_123_456_789n; // digits a microsecond utimes would lose
  await times.set([[root, stamp]]);
  assert.equal(lstatSync(root, { bigint: true }).mtimeNs, stamp, 'the file system keeps it');
  ensureStateDir(root);
  assert.ok(lstatSync(join(root, '.concord')).isDirectory());
  assert.equal(lstatSync(root, { bigint: true }).mtimeNs, stamp);
});
