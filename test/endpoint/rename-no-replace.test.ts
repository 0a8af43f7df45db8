import assert from 'node:assert/strict';
import { existsSync, lstatSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { renameNoReplace } from '../../src/endpoint/local/move.ts';
import { tempDir } from '../helpers/tree.ts';

// With the addon (renameat2) and without it (link + unlink, or rename for a directory).
for (const native of [true, false]) {
  const way = native ? 'renameat2(RENAME_NOREPLACE)' : 'without the addon';
  test(`S16 renameNoReplace ${way}: a file or a directory moves, keeping its inode; onto something that appeared it moves nothing and says so`, (t) => {
    const dir = tempDir(t);
    const [a, b, taken] = ['a', 'b', 'taken'].map((n) => join(dir, n)) as [string, string, string];
    writeFileSync(a, 'moving');
    writeFileSync(taken, 'was there first');
    const ino = lstatSync(a).ino;
    assert.equal(renameNoReplace(a, taken, { native }), false);
    assert.equal(readFileSync(taken, 'utf8'), 'was there first');
    assert.equal(readFileSync(a, 'utf8'), 'moving', 'and the source stays');
    assert.equal(renameNoReplace(a, b, { native }), true);
    assert.equal(existsSync(a), false, 'one name, not two');
    assert.equal(lstatSync(b).ino, ino);

    const [d, e, empty] = ['d', 'e', 'empty'].map((n) => join(dir, n)) as [string, string, string];
    mkdirSync(d);
    writeFileSync(join(d, 'inside'), 'x');
    mkdirSync(empty);
    // rename(2) replaces an empty directory: renameat2 does not.
    if (native) {
      assert.equal(renameNoReplace(d, empty, { native }), false);
      assert.ok(existsSync(join(d, 'inside')));
    }
    assert.equal(renameNoReplace(d, e, { native }), true);
    assert.equal(readFileSync(join(e, 'inside'), 'utf8'), 'x');
  });
}
