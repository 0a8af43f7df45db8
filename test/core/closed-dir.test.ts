import assert from 'node:assert/strict';
import { test } from 'node:test';
import { closedToOwner, leftOpened, openedToOwner } from '../../src/core/closed-dir.ts';
import { dir, file } from './fixtures.ts';

test('closed to its owner: a folder without u+w or u+x; opened, it gains both and keeps the rest', () => {
  const rows: [number, boolean][] = [
    [0o755, false],
    [0o700, false],
    [0o555, true],
    [0o644, true],
    [0o500, true],
    [0o300, false],
  ];
  for (const [mode, closed] of rows)
    assert.equal(closedToOwner(dir('d', { mode })), closed, mode.toString(8));
  assert.equal(closedToOwner(file('f', { mode: 0o444 })), false, 'only folders');
  assert.equal(openedToOwner(dir('d', { mode: 0o555 })).mode, 0o755);
  assert.equal(openedToOwner(dir('d', { mode: 0o444 })).mode, 0o744);
});

test('S15: a folder a crashed run opened is given its mode back only while it is as that run left it', () => {
  const rows: [string, Parameters<typeof leftOpened>[0], boolean][] = [
    ['still opened', dir('d', { mode: 0o755 }), true],
    ['closed again by someone', dir('d', { mode: 0o555 }), false],
    ['given another mode since', dir('d', { mode: 0o700 }), false],
    ['replaced by a file', file('d', { mode: 0o755 }), false],
    ['gone', undefined, false],
  ];
  for (const [what, e, left] of rows) assert.equal(leftOpened(e, 0o555), left, what);
  assert.equal(
    leftOpened(dir('d', { mode: 0o755 }), 0o755),
    false,
    'a folder that was never closed',
  );
});
