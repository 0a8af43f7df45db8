/**
 * A target that goes away mid-run: a USB drive unplugged, a share unmounted. The run stops
 * with one problem naming what happened (not one per entry), writes nothing more, exits 1;
 * once the drive is back, the next run finishes the job (S15). Here B is moved away from its
 * path when the first operation is done, as an unplugged drive leaves it, and moved back.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import {
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  renameSync,
  writeFileSync,
} from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { syncLocal } from '../../src/api.ts';
import { EXIT, exitOfRun } from '../../src/errors.ts';
import type { RunEvent } from '../../src/jobs/events.ts';
import { syncTwoWayLocal } from '../../src/twoway-local.ts';
import { contents, roots, type Spec, tempDir } from './helpers.ts';

/** 600 files in 30 folders: far more than one batch of copies. */
const MANY: Spec = Object.fromEntries(
  Array.from({ length: 600 }, (_, i) => [`d${i % 30}/f${i}.txt`, `file ${i}`]),
);

/** Moves B away at the first operation done, once. */
function unplugAtFirstOp(B: string) {
  const away = `${B}.unplugged`;
  let done = false;
  const onEvent = (e: RunEvent) => {
    if (done || e.type !== 'op') return;
    done = true;
    renameSync(B, away);
  };
  return { onEvent, plugBack: () => renameSync(away, B), away };
}

/** A tmpfs mounted at a new B, which `unmount` takes away (lazily) mid-run, once. */
function mountedTmpfs(t: { after: (fn: () => void) => void }) {
  const B = join(tempDir(t), 'mnt');
  mkdirSync(B);
  execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=16m', 'tmpfs', B]);
  const m = {
    B,
    mounted: true,
    unmount() {
      m.mounted = false;
      execFileSync('umount', ['-l', B]);
    },
  };
  t.after(() => {
    if (m.mounted) m.unmount();
  });
  return m;
}

describe('the target root vanishes during the run', () => {
  test('mirror: one root-vanished problem, nothing written after it, and the next run finishes', async (t) => {
    const { A } = roots(t, MANY);
    const B = join(tempDir(t), 'B');
    const home = tempDir(t);
    const u = unplugAtFirstOp(B);
    const r = await syncLocal(A, B, { mode: 'mirror', onEvent: u.onEvent, home });
    assert.deepEqual(
      r.summary.problems.map((p) => [p.code, p.path, p.side]),
      [['root-vanished', '', 'B']],
    );
    assert.equal(existsSync(B), false, 'nothing was made at the path after it vanished');
    const copied = Object.keys(contents(u.away)).length;
    assert.ok(copied < 600, `${copied} files reached B before it vanished`);
    u.plugBack();
    const again = await syncLocal(A, B, { mode: 'mirror', home });
    assert.deepEqual(again.summary.problems, []);
    assert.deepEqual(contents(B), contents(A));
  });

  test('two-way: the same, and the ancestor holds only what was applied, so nothing is deleted on the next run (S15)', async (t) => {
    const { A } = roots(t, MANY);
    const B = join(tempDir(t), 'B');
    const home = tempDir(t);
    const u = unplugAtFirstOp(B);
    const r = await syncTwoWayLocal(A, B, { onEvent: u.onEvent, home });
    assert.deepEqual(
      r.summary.problems.map((p) => [p.code, p.side]),
      [['root-vanished', 'B']],
    );
    assert.equal(existsSync(B), false);
    u.plugBack();
    const again = await syncTwoWayLocal(A, B, { home });
    assert.deepEqual(again.summary.problems, []);
    assert.equal(again.summary.deleted, 0);
    assert.deepEqual(contents(B), contents(A));
    const files = Object.keys(contents(A)).filter((k) => k.endsWith('.txt'));
    assert.equal(files.length, 600, 'A lost nothing');
  });

  test('a mount point unmounted mid-run fails no write (the disk below takes them): the device changed, so the run stops with root-vanished all the same', async (t) => {
    const { A } = roots(t, MANY);
    const m = mountedTmpfs(t);
    const B = m.B;
    const home = tempDir(t);
    const onEvent = (e: RunEvent) => {
      if (m.mounted && e.type === 'op') m.unmount();
    };
    const r = await syncLocal(A, B, { mode: 'mirror', onEvent, home });
    assert.deepEqual(
      r.summary.problems.map((p) => [p.code, p.side]),
      [['root-vanished', 'B']],
    );
    const below = Object.keys(contents(B)).filter((k) => k.endsWith('.txt')).length;
    assert.ok(below < 600, `${below} files reached the disk below before the stop`);
  });

  test('S19 a mount point unmounted between the scan and the first write: the run stops before writing anything to the disk below, a large file included', async (t) => {
    // Files at the top too: the first batch of copies holds more than one operation.
    const top = Object.fromEntries(Array.from({ length: 100 }, (_, i) => [`top${i}.txt`, `${i}`]));
    const { A } = roots(t, { ...top, ...MANY, 'zz/big.bin': 'x'.repeat(3 * 1024 * 1024) });
    const m = mountedTmpfs(t);
    const B = m.B;
    const home = tempDir(t);
    // The apply phase begins once the scan has decided the first directory: before any write.
    const onEvent = (e: RunEvent) => {
      if (m.mounted && e.type === 'phase' && e.phase === 'apply') m.unmount();
    };
    const r = await syncLocal(A, B, { mode: 'mirror', onEvent, home });
    assert.deepEqual(
      r.summary.problems.map((p) => [p.code, p.side]),
      [['root-vanished', 'B']],
    );
    assert.deepEqual(Object.keys(contents(B)), [], 'nothing reached the disk below');
  });

  test('S19 two-way: a file system mounted over B while a conflict waits for its answer gets nothing, and B below is left as it was', async (t) => {
    const { A, B } = roots(t, { 'c.txt': 'one', 'd/e.txt': 'e' });
    const home = tempDir(t);
    assert.deepEqual((await syncTwoWayLocal(A, B, { home })).summary.problems, []);
    writeFileSync(join(A, 'c.txt'), "A's edit");
    writeFileSync(join(B, 'c.txt'), "B's longer edit");
    writeFileSync(join(A, 'new.txt'), 'new on A');
    let mounted = false;
    // The person at the prompt takes a while; meanwhile a drive is mounted at B's path.
    const ask = async () => {
      execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=16m', 'tmpfs', B]);
      mounted = true;
      return 'A' as const;
    };
    // Unmounted here, not in an after hook: the temporary folder's removal may come first.
    try {
      const r = await syncTwoWayLocal(A, B, { home, policy: 'prompt', ask });
      assert.deepEqual(
        r.summary.problems.map((p) => [p.code, p.side]),
        [['root-vanished', 'B']],
      );
      assert.deepEqual(readdirSync(B), [], 'nothing written into the file system mounted there');
    } finally {
      if (mounted) execFileSync('umount', [B]);
    }
    assert.equal(readFileSync(join(B, 'c.txt'), 'utf8'), "B's longer edit");
    assert.equal(existsSync(join(B, 'new.txt')), false);
    assert.equal(readFileSync(join(A, 'c.txt'), 'utf8'), "A's edit", 'A untouched too');
    // The next run, with B back, still sees the conflict and settles it.
    const again = await syncTwoWayLocal(A, B, { home, policy: 'keep-source' });
    assert.deepEqual(again.summary.problems, []);
    assert.equal(again.summary.conflicts, 1);
    assert.equal(readFileSync(join(B, 'c.txt'), 'utf8'), "A's edit");
    assert.equal(readFileSync(join(B, 'new.txt'), 'utf8'), 'new on A');
  });

  test('the exit code of a run that stopped on a vanished root is 1 (failed), not 3 (entries left)', () => {
    const vanished = { code: 'root-vanished' };
    const left = { code: 'write-failed' };
    assert.equal(exitOfRun([left, vanished]), EXIT.failed);
    assert.equal(exitOfRun([left]), EXIT.unresolved);
    assert.equal(exitOfRun([]), EXIT.ok);
  });
});
