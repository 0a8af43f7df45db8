import assert from 'node:assert/strict';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { cli, problemsOf, readTree, roots, summaryOf } from './helpers.ts';

test('S17: a name that is not valid UTF-8 is reported, never skipped in silence, and its counterpart on B is kept', async (t) => {
  const { A, B } = roots(t, { 'ok.txt': 'fine' }, { 'ok.txt': 'fine' });
  const bad = Buffer.from([0x62, 0x61, 0x64, 0xff]); // "bad\xff"
  writeFileSync(Buffer.concat([Buffer.from(`${A}/`), bad]), 'data on A');
  writeFileSync(Buffer.concat([Buffer.from(`${B}/`), bad]), 'data on B');
  const r = await cli(['mirror', A, B, '--json']);
  assert.equal(r.code, 3, r.stderr);
  const problems = problemsOf(r);
  assert.equal(problems.length, 2, JSON.stringify(problems)); // one on each side
  assert.ok(problems.every((p) => p.code === 'invalid-name'));
  assert.equal(summaryOf(r).deleted, 0);
  // B's file with the undecodable name is still there with its content.
  const names = readdirSync(B, { encoding: 'buffer' }).filter((n) => n.equals(bad));
  assert.equal(names.length, 1);
  assert.equal(readFileSync(Buffer.concat([Buffer.from(`${B}/`), bad])).toString(), 'data on B');
});

test('names with newlines, spaces, emoji and a leading dash are synced like any other', async (t) => {
  const spec = { 'new\nline': 'a', ' spaced ': 'b', '😀/ü.txt': 'c', '-rf': 'd', 'a\\b': 'e' };
  const { A, B } = roots(t, spec);
  const r = await cli(['mirror', A, B]);
  assert.equal(r.code, 0, r.stderr);
  assert.deepEqual(readTree(B), readTree(A));
  assert.equal(readFileSync(join(B, 'new\nline'), 'utf8'), 'a');
});
