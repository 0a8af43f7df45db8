/**
 * Execution-time safety, in process: plan a run, change the roots behind the plan's back, then
 * execute it. Every operation whose target (or source) is no longer what the plan saw must be
 * skipped and reported, and everything else done (S16, S17, S14, S7).
 */
import assert from 'node:assert/strict';
import { renameSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import type { Problem } from '../../src/core/problem.ts';
import type { RunEvent } from '../../src/jobs/events.ts';
import {
  contents,
  onlyTrash,
  planMeddleExecute,
  roots,
  type Spec,
  T1,
  T2,
  T3,
  tempFiles,
} from './helpers.ts';

const A_SPEC: Spec = {
  'new.txt': { content: 'new from A', mtime: T2 },
  'upd.txt': { content: 'A version of upd', mtime: T2 },
  'meta.txt': { content: 'same bytes', mtime: T3 },
  'inode.txt': { content: 'A inode', mtime: T2 },
  'src-changed.txt': { content: 'A before', mtime: T2 },
  'newdir/child': { content: 'child', mtime: T2 },
  'ok-new.txt': { content: 'ok new', mtime: T2 },
  'ok-upd.txt': { content: 'ok updated', mtime: T2 },
  'ok-meta.txt': { content: 'ok meta', mtime: T3 },
};

const B_SPEC: Spec = {
  'upd.txt': { content: 'B v1', mtime: T1 },
  'meta.txt': { content: 'same bytes', mtime: T1 },
  'inode.txt': { content: 'B inode', mtime: T1 },
  'src-changed.txt': { content: 'B old', mtime: T1 },
  'extra-gone.txt': { content: 'deleted by someone else', mtime: T1 },
  'extra-mod.txt': { content: 'extra v1', mtime: T1 },
  'ok-upd.txt': { content: 'ok old', mtime: T1 },
  'ok-meta.txt': { content: 'ok meta', mtime: T1 },
  'ok-extra.txt': { content: 'ok extra', mtime: T1 },
};

/** Plans a mirror of A_SPEC over B_SPEC, lets `meddle` change the roots, executes the plan. */
async function planMeddle(t: Parameters<typeof roots>[0], meddle: (A: string, B: string) => void) {
  const { dir, A, B } = roots(t, A_SPEC, B_SPEC);
  const events: RunEvent[] = [];
  const onEvent = (e: RunEvent) => events.push(e);
  const { planned, result } = await planMeddleExecute(A, B, { mode: 'mirror', onEvent }, () =>
    meddle(A, B),
  );
  assert.deepEqual(planned.problems, []);
  return { dir, A, B, planned, result, events };
}

function byPath(problems: Problem[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const p of problems) out[p.path] = `${p.side} ${p.code}`;
  return out;
}

/** Rewrites a file with new content, keeping (or setting) its mtime in seconds. */
function rewrite(p: string, content: string, mtime?: number): void {
  writeFileSync(p, content);
  if (mtime !== undefined) utimesSync(p, mtime, mtime);
}

describe('S16 preconditions are checked right before each write', () => {
  test('target changes after planning are skipped as changed-during-sync and kept; the rest is done', async (t) => {
    const { dir, B, result, planned } = await planMeddle(t, (A, B) => {
      rewrite(join(B, 'new.txt'), 'written on B meanwhile'); // the plan expects absence
      rewrite(join(B, 'upd.txt'), 'B v2, edited meanwhile'); // the plan overwrites it
      rewrite(join(B, 'meta.txt'), 'edited meanwhile, now longer'); // the plan sets its mtime
      rmSync(join(B, 'extra-gone.txt')); // the plan deletes it
      rewrite(join(B, 'extra-mod.txt'), 'extra v2, edited meanwhile'); // the plan deletes it
      rewrite(join(B, 'newdir'), 'a file where the plan makes a directory');
      // Same size and mtime, another file (inode): still not what the plan saw.
      writeFileSync(join(B, 'inode.tmp'), 'B INODE');
      utimesSync(join(B, 'inode.tmp'), T1, T1);
      renameSync(join(B, 'inode.tmp'), join(B, 'inode.txt'));
      // A source file changed after planning: its copy must not be committed.
      rewrite(join(A, 'src-changed.txt'), 'A after, edited meanwhile');
    });
    assert.ok(planned.ops.length > 10);
    assert.deepEqual(byPath(result.problems), {
      'new.txt': 'B changed-during-sync',
      'upd.txt': 'B changed-during-sync',
      'meta.txt': 'B changed-during-sync',
      'extra-gone.txt': 'B changed-during-sync',
      'extra-mod.txt': 'B changed-during-sync',
      newdir: 'B changed-during-sync',
      'inode.txt': 'B changed-during-sync',
      'src-changed.txt': 'A changed-during-sync',
    });
    for (const p of result.problems) assert.ok(p.message.length > 0);
    assert.deepEqual(contents(B), {
      'extra-mod.txt': { kind: 'file', content: 'extra v2, edited meanwhile' },
      'inode.txt': { kind: 'file', content: 'B INODE' },
      'meta.txt': { kind: 'file', content: 'edited meanwhile, now longer' },
      'new.txt': { kind: 'file', content: 'written on B meanwhile' },
      newdir: { kind: 'file', content: 'a file where the plan makes a directory' },
      'ok-meta.txt': { kind: 'file', content: 'ok meta' },
      'ok-new.txt': { kind: 'file', content: 'ok new' },
      'ok-upd.txt': { kind: 'file', content: 'ok updated' },
      'src-changed.txt': { kind: 'file', content: 'B old' },
      'upd.txt': { kind: 'file', content: 'B v2, edited meanwhile' },
    });
    // S7: only what was really replaced or deleted is in the trash.
    assert.deepEqual(contents(onlyTrash(B)), {
      'ok-extra.txt': { kind: 'file', content: 'ok extra' },
      'ok-upd.txt': { kind: 'file', content: 'ok old' },
    });
    const done = result.done.map((o) => `${o.op} ${o.path}`);
    for (const want of ['copy ok-new.txt', 'copy ok-upd.txt', 'set-meta ok-meta.txt'])
      assert.ok(done.includes(want), `${want} in ${done.join(', ')}`);
    for (const skipped of ['copy new.txt', 'copy upd.txt', 'delete extra-mod.txt'])
      assert.ok(!done.includes(skipped), skipped);
    assert.deepEqual(tempFiles(dir), [], 'S14: skipped copies leave no temp file');
  });

  test('a source file modified after planning is not committed: B keeps its old content, reported on A', async (t) => {
    const { dir, B, result, events } = await planMeddle(t, (A) => {
      // Same size as before, a new mtime: the copy must notice.
      rewrite(join(A, 'src-changed.txt'), 'A BEFORE', T3);
      rewrite(join(A, 'ok-new.txt'), 'ok new but edited, longer');
    });
    const problems = result.problems.map((p) => `${p.side} ${p.path} ${p.code}`).sort();
    assert.deepEqual(problems, [
      'A ok-new.txt changed-during-sync',
      'A src-changed.txt changed-during-sync',
    ]);
    const c = contents(B);
    assert.equal(c['src-changed.txt']?.content, 'B old');
    assert.equal(c['ok-new.txt'], undefined, 'a new file changed meanwhile is not created');
    assert.equal(c['upd.txt']?.content, 'A version of upd', 'other operations done');
    assert.equal(c['newdir/child']?.content, 'child');
    const reported = events.filter((e) => e.type === 'problem').length;
    assert.equal(reported, 2, 'each one reported as a problem event');
    assert.deepEqual(tempFiles(dir), []);
  });

  test('a directory that could not be created is reported once, and nothing is attempted inside it', async (t) => {
    const { B, result } = await planMeddle(t, (_A, B) => {
      writeFileSync(join(B, 'newdir'), 'a file where the plan makes a directory');
    });
    assert.deepEqual(
      result.problems.map((p) => `${p.side} ${p.path} ${p.code}`),
      ['B newdir changed-during-sync'],
    );
    assert.ok(!result.done.some((o) => o.path.startsWith('newdir')));
    assert.equal(contents(B).newdir?.content, 'a file where the plan makes a directory');
  });

  test('S14 after an undisturbed run no .concord-tmp-* remains, and B equals A', async (t) => {
    const { dir, A, B, result } = await planMeddle(t, () => {});
    assert.deepEqual(result.problems, []);
    assert.deepEqual(contents(B), contents(A));
    assert.deepEqual(tempFiles(dir), []);
  });
});

test('openLocalRun({ workers: false }) plans and applies without worker threads', async (t) => {
  const { A, B } = roots(t, A_SPEC, B_SPEC);
  // planMeddleExecute opens the run with workers: false, meddling with nothing here.
  const { planned, result } = await planMeddleExecute(A, B, { mode: 'mirror' }, () => {});
  assert.deepEqual(planned.problems, []);
  assert.deepEqual(result.problems, []);
  assert.deepEqual(contents(B), contents(A));
});
