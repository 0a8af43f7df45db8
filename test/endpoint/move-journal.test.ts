import assert from 'node:assert/strict';
import {
  existsSync,
  linkSync,
  lstatSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  renameSync,
  writeFileSync,
} from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import {
  finishMoves,
  MOVING_DIR,
  noteMove,
  renameNoReplace,
} from '../../src/endpoint/local/move.ts';
import { tempDir } from '../helpers/tree.ts';

test('S14 a link + unlink move writes itself down and leaves no note once done', (t) => {
  const root = tempDir(t);
  writeFileSync(join(root, 'a'), 'moving');
  assert.equal(renameNoReplace(join(root, 'a'), join(root, 'b'), { native: false, root }), true);
  assert.equal(existsSync(join(root, 'a')), false);
  assert.equal(readFileSync(join(root, 'b'), 'utf8'), 'moving');
  assert.deepEqual(readdirSync(join(root, MOVING_DIR)), [], 'the note went with the move');
  // Refused (something at the target): no note left either.
  writeFileSync(join(root, 'c'), 'was there');
  assert.equal(renameNoReplace(join(root, 'b'), join(root, 'c'), { native: false, root }), false);
  assert.deepEqual(readdirSync(join(root, MOVING_DIR)), []);
});

test('S14 finishMoves ends a move killed between link and unlink: the old name goes, the file stays under the new one', (t) => {
  const root = tempDir(t);
  writeFileSync(join(root, 'a'), 'moving');
  const ino = lstatSync(join(root, 'a')).ino;
  // Where a kill between the two calls leaves it: the note, and both names for one file.
  noteMove(root, join(root, 'a'), join(root, 'b'));
  linkSync(join(root, 'a'), join(root, 'b'));
  assert.equal(finishMoves(root), 1);
  assert.equal(existsSync(join(root, 'a')), false);
  assert.equal(lstatSync(join(root, 'b')).ino, ino);
  assert.deepEqual(readdirSync(join(root, MOVING_DIR)), []);
  assert.equal(finishMoves(root), 0, 'and once only');
});

test('S7 finishMoves removes nothing that is not the moved file under both names: a move that never linked, or a name given to another file since', (t) => {
  const root = tempDir(t);
  writeFileSync(join(root, 'a'), 'never linked');
  noteMove(root, join(root, 'a'), join(root, 'b'));
  writeFileSync(join(root, 'c'), 'linked');
  noteMove(root, join(root, 'c'), join(root, 'd'));
  linkSync(join(root, 'c'), join(root, 'd'));
  // After the crash, an editor saved a new file over c (a rename onto it, as editors save).
  writeFileSync(join(root, 'c.new'), 'a new file at c');
  renameSync(join(root, 'c.new'), join(root, 'c'));
  assert.equal(finishMoves(root), 0);
  assert.equal(readFileSync(join(root, 'a'), 'utf8'), 'never linked');
  assert.equal(existsSync(join(root, 'b')), false);
  assert.equal(readFileSync(join(root, 'c'), 'utf8'), 'a new file at c');
  assert.equal(readFileSync(join(root, 'd'), 'utf8'), 'linked');
  assert.deepEqual(readdirSync(join(root, MOVING_DIR)), [], 'the notes are read once');
});

test('finishMoves on a root that never wrote a note: nothing to do, nothing made', (t) => {
  const root = tempDir(t);
  assert.equal(finishMoves(root), 0);
  assert.equal(existsSync(join(root, MOVING_DIR)), false);
});

test('finishMoves leaves alone what is not a note of its own: a folder among the notes, a note naming a path outside the root, a note that is no pair of paths', (t) => {
  const dir = tempDir(t);
  const root = join(dir, 'root');
  mkdirSync(join(root, MOVING_DIR, 'a-folder'), { recursive: true });
  // Outside the root: two names of one file, which a note with '..' would have cut to one.
  writeFileSync(join(dir, 'outside'), 'not the root');
  linkSync(join(dir, 'outside'), join(dir, 'outside-2'));
  writeFileSync(join(root, MOVING_DIR, '1-0'), '../outside\0../outside-2');
  writeFileSync(join(root, MOVING_DIR, '1-1'), 'no NUL in here');
  assert.equal(finishMoves(root), 0);
  assert.ok(existsSync(join(dir, 'outside')));
  assert.deepEqual(readdirSync(join(root, MOVING_DIR)), ['a-folder']);
});
