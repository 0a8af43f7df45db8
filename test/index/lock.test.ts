/**
 * S18 lock exclusivity, with two real processes: a holder (test/helpers/hold-lock.ts, the
 * CLI's own lock code) and the CLI.
 */
import assert from 'node:assert/strict';
import { type ChildProcessWithoutNullStreams, spawn } from 'node:child_process';
import { once } from 'node:events';
import { existsSync, readdirSync, readFileSync, realpathSync, watch, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { CLI, makeTree, REPO, runCli, tempDir } from '../helpers/tree.ts';

/** Starts a process holding `keys`; resolves once it has the lock. */
async function holder(home: string, keys: string[]): Promise<ChildProcessWithoutNullStreams> {
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', join(REPO, 'test', 'helpers', 'hold-lock.ts'), home, ...keys],
    { cwd: REPO },
  );
  let out = '';
  child.stdout.setEncoding('utf8');
  for await (const chunk of child.stdout) {
    out += chunk;
    if (out.includes('held')) break;
  }
  assert.match(out, /^held \d+\n$/);
  return child;
}

test('S18 a second run on a locked root waits briefly, then exits 1 naming the holder (pid, start time)', async (t) => {
  const dir = tempDir(t);
  const home = join(dir, 'home');
  const root = join(dir, 'root');
  makeTree(root, { 'a.txt': 'a' });
  const env = { CONCORD_HOME: home };
  assert.equal((await runCli(['index', root], { env })).code, 0);
  const id = readFileSync(join(root, '.concord', 'root-id'), 'utf8').trim();
  const h = await holder(home, [`id:${id}`]);
  t.after(() => h.kill('SIGKILL'));

  const started = Date.now();
  const r = await runCli(['index', root], { env });
  assert.equal(r.code, 1);
  assert.match(
    r.stderr,
    new RegExp(
      `^concord: ${root}: another Concord run is using this root: pid ${h.pid} on [^,]+, started \\d{4}-\\d\\d-\\d\\dT\\d\\d:\\d\\d:\\d\\dZ \\(hold-lock \\(test\\)\\) \\(wait for it to finish, or stop it \\(kill ${h.pid}\\)`,
    ),
  );
  assert.ok(Date.now() - started >= 3000, 'it waited for the holder first');

  // A sync whose destination is that root is refused the same way, before changing anything.
  const src = join(dir, 'src');
  makeTree(src, { 'new.txt': 'n' });
  const s = await runCli(['mirror', src, root], { env });
  assert.equal(s.code, 1);
  assert.match(s.stderr, new RegExp(`pid ${h.pid}`));
  assert.equal(readFileSync(join(root, 'a.txt'), 'utf8'), 'a');

  // Released: the next run goes ahead.
  h.stdin.end();
  await once(h, 'exit');
  assert.equal((await runCli(['mirror', src, root], { env })).code, 0);
});

test('S18 a stale lock (its holder was killed) is taken over, not obeyed forever', async (t) => {
  const dir = tempDir(t);
  const home = join(dir, 'home');
  const A = join(dir, 'A');
  const B = join(dir, 'B');
  makeTree(A, { 'a.txt': 'a' });
  makeTree(B, {});
  const h = await holder(home, [`path:${realpathSync(B)}`]);
  h.kill('SIGKILL');
  await once(h, 'exit');
  const started = Date.now();
  const r = await runCli(['mirror', A, B], { env: { CONCORD_HOME: home } });
  assert.equal(r.code, 0, r.stderr);
  assert.ok(Date.now() - started < 3000, 'no wait for a dead holder');
  assert.equal(readFileSync(join(B, 'a.txt'), 'utf8'), 'a');
});

test('S18 two-way: a sync whose root B another run holds exits 1 naming it, and changes neither root', async (t) => {
  const dir = tempDir(t);
  const home = join(dir, 'home');
  const A = join(dir, 'A');
  const B = join(dir, 'B');
  makeTree(A, { 'a.txt': 'a' });
  makeTree(B, { 'b.txt': 'b' });
  const env = { CONCORD_HOME: home };
  assert.equal((await runCli(['sync', A, B], { env })).code, 0);
  const id = readFileSync(join(B, '.concord', 'root-id'), 'utf8').trim();
  const h = await holder(home, [`id:${id}`]);
  t.after(() => h.kill('SIGKILL'));
  writeFileSync(join(A, 'new.txt'), 'n');
  const r = await runCli(['sync', A, B], { env });
  assert.equal(r.code, 1);
  assert.match(r.stderr, new RegExp(`${B}: another Concord run is using this root: pid ${h.pid}`));
  assert.equal(existsSync(join(B, 'new.txt')), false, 'B untouched');
  h.stdin.end();
  await once(h, 'exit');
  assert.equal((await runCli(['sync', A, B], { env })).code, 0);
  assert.equal(readFileSync(join(B, 'new.txt'), 'utf8'), 'n');
});

test('S18 runs with two CONCORD_HOMEs (root and a user, say) on one root: the second waits, then exits 1 naming the holder, and changes nothing', async (t) => {
  const dir = tempDir(t);
  const A = join(dir, 'A');
  const B = join(dir, 'B');
  makeTree(A, { 'a.txt': 'a' });
  makeTree(B, { 'b.txt': 'b' });
  const h = await holder(join(dir, 'home1'), [`path:${realpathSync(B)}`]);
  t.after(() => h.kill('SIGKILL'));
  const env = { CONCORD_HOME: join(dir, 'home2') };

  const started = Date.now();
  const r = await runCli(['mirror', A, B], { env });
  assert.equal(r.code, 1, r.stderr);
  assert.match(
    r.stderr,
    new RegExp(
      `^concord: ${B}: another process holds this root's run lock \\(flock\\), as a Concord run with another CONCORD_HOME does: pid ${h.pid} on [^,]+, started \\d{4}-\\d\\d-\\d\\dT\\d\\d:\\d\\d:\\d\\dZ \\([^)]*hold-lock\\.ts [^)]*\\) \\(wait for it to finish, or stop it \\(kill ${h.pid}\\)\\)\\n$`,
    ),
  );
  assert.ok(Date.now() - started >= 3000, 'it waited for the holder first');
  assert.deepEqual(readdirSync(B).sort(), ['b.txt'], 'B untouched');

  // The same from the other side: a two-way run whose A is held.
  const s = await runCli(['sync', B, A], { env });
  assert.equal(s.code, 1);
  assert.match(s.stderr, new RegExp(`^concord: ${B}: .*pid ${h.pid}`));
  assert.deepEqual(readdirSync(A).sort(), ['a.txt'], 'A untouched');

  // CONCORD_NATIVE=0 asks for the JavaScript listing and copies, not for a run without the lock.
  const js = await runCli(['mirror', A, B], { env: { ...env, CONCORD_NATIVE: '0' } });
  assert.equal(js.code, 1, js.stderr);
  assert.match(js.stderr, new RegExp(`pid ${h.pid}`));
  assert.deepEqual(readdirSync(B).sort(), ['b.txt'], 'B untouched');

  // A killed holder leaves nothing behind: the kernel dropped its lock.
  h.kill('SIGKILL');
  await once(h, 'exit');
  const again = Date.now();
  assert.equal((await runCli(['mirror', A, B], { env })).code, 0);
  assert.ok(Date.now() - again < 3000, 'no wait for a dead holder');
  assert.deepEqual(readdirSync(B).sort(), ['.concord', 'a.txt'], 'b.txt went to the trash');
});

test('S18 a destination a run creates is locked once it exists: a run with another CONCORD_HOME into it waits, then exits 1 naming the first', async (t) => {
  const dir = tempDir(t);
  const A1 = join(dir, 'A1');
  const A2 = join(dir, 'A2');
  const B = join(dir, 'B');
  const files: Record<string, string> = {};
  for (let i = 0; i < 2000; i++) files[`d${i % 40}/f${i}`] = `file ${i}`;
  makeTree(A1, files);
  makeTree(A2, { 'other.txt': 'from A2' });
  // The first run, stopped once something is in B: it writes there only after it has locked
  // B (inotify on B's parent, then on B; no polling).
  const writing = new Promise<void>((resolve) => {
    const w = watch(dir, (_, name) => {
      if (name !== 'B') return;
      w.close();
      let done = false;
      const inB = watch(B, () => {
        if (done) return;
        done = true;
        inB.close();
        resolve();
      });
      if (!done && readdirSync(B).length > 0) {
        done = true;
        inB.close();
        resolve();
      }
    });
  });
  const first = spawn(process.execPath, [CLI, 'mirror', A1, B], {
    env: { ...process.env, CONCORD_HOME: join(dir, 'home1') },
  });
  const exited = once(first, 'exit');
  t.after(() => first.kill('SIGKILL'));
  await writing;
  first.kill('SIGSTOP');

  const r = await runCli(['mirror', A2, B], { env: { CONCORD_HOME: join(dir, 'home2') } });
  first.kill('SIGCONT');
  assert.equal(r.code, 1, r.stderr);
  assert.match(
    r.stderr,
    new RegExp(`^concord: ${B}: another process holds this root's run lock .*: pid ${first.pid} `),
  );
  const [code] = await exited;
  assert.equal(code, 0, 'the first run finished');
  assert.equal(existsSync(join(B, 'other.txt')), false, 'nothing of the second run in B');
  assert.equal(readFileSync(join(B, 'd7', 'f7'), 'utf8'), 'file 7');
});

test('S18 nested roots: a run into a folder inside a held root, or around one, waits and exits 1 naming the holder', async (t) => {
  const dir = tempDir(t);
  const home = join(dir, 'home');
  const env = { CONCORD_HOME: home };
  const X = join(dir, 'X');
  makeTree(X, { 'sub/a.txt': 'a', 'b.txt': 'b' });
  const Z = join(dir, 'Z');
  makeTree(Z, { 'z.txt': 'z' });
  const outer = await holder(home, [`path:${realpathSync(X)}`]);
  t.after(() => outer.kill('SIGKILL'));
  const inside = await runCli(['mirror', Z, join(X, 'sub')], { env });
  assert.equal(inside.code, 1, inside.stderr);
  assert.match(
    inside.stderr,
    new RegExp(
      `^concord: ${join(X, 'sub')}: another Concord run is using this root: pid ${outer.pid} `,
    ),
  );
  assert.deepEqual(readdirSync(join(X, 'sub')), ['a.txt'], 'X/sub untouched');
  // A destination not made yet, inside the held root: refused before it is made.
  const made = await runCli(['mirror', Z, join(X, 'new')], { env });
  assert.equal(made.code, 1, made.stderr);
  assert.match(
    made.stderr,
    new RegExp(`another Concord run is using this root: pid ${outer.pid} `),
  );
  assert.deepEqual(readdirSync(X).sort(), ['b.txt', 'sub'], 'X/new not made');
  outer.stdin.end();
  await once(outer, 'exit');

  const inner = await holder(home, [`path:${realpathSync(join(X, 'sub'))}`]);
  t.after(() => inner.kill('SIGKILL'));
  const around = await runCli(['mirror', Z, X], { env });
  assert.equal(around.code, 1, around.stderr);
  assert.match(around.stderr, new RegExp(`pid ${inner.pid} `));
  assert.deepEqual(readdirSync(X).sort(), ['b.txt', 'sub'], 'X untouched');
  inner.stdin.end();
  await once(inner, 'exit');
  assert.equal((await runCli(['mirror', Z, X], { env })).code, 0, 'free again');
});

test('S18 nested roots with two CONCORD_HOMEs: a run inside a held root, or around one, waits and exits 1 naming the holder; runs side by side go ahead', async (t) => {
  const dir = tempDir(t);
  const X = join(dir, 'X');
  makeTree(X, { 'sub/a.txt': 'a', 'b.txt': 'b' });
  const Z = join(dir, 'Z');
  makeTree(Z, { 'z.txt': 'z' });
  const env = { CONCORD_HOME: join(dir, 'home2') };
  const outer = await holder(join(dir, 'home1'), [`path:${realpathSync(X)}`]);
  t.after(() => outer.kill('SIGKILL'));
  const started = Date.now();
  const inside = await runCli(['mirror', Z, join(X, 'sub')], { env });
  assert.equal(inside.code, 1, inside.stderr);
  assert.match(
    inside.stderr,
    new RegExp(
      `^concord: ${join(X, 'sub')}: another process holds the run lock of ${realpathSync(X)}, which contains this root \\(flock\\), as a Concord run with another CONCORD_HOME does: pid ${outer.pid} .*\\(wait for it to finish, or stop it \\(kill ${outer.pid}\\)\\)\\n$`,
    ),
  );
  assert.ok(Date.now() - started >= 3000, 'it waited for the holder first');
  assert.deepEqual(readdirSync(join(X, 'sub')), ['a.txt'], 'X/sub untouched');
  // A destination not made yet, inside the held root: refused before it is made.
  const made = await runCli(['mirror', Z, join(X, 'new')], { env });
  assert.equal(made.code, 1, made.stderr);
  assert.match(made.stderr, new RegExp(`which contains this root .*: pid ${outer.pid} `));
  assert.deepEqual(readdirSync(X).sort(), ['b.txt', 'sub'], 'X/new not made');
  outer.stdin.end();
  await once(outer, 'exit');

  const inner = await holder(join(dir, 'home1'), [`path:${realpathSync(join(X, 'sub'))}`]);
  t.after(() => inner.kill('SIGKILL'));
  const around = await runCli(['mirror', Z, X], { env });
  assert.equal(around.code, 1, around.stderr);
  assert.match(
    around.stderr,
    new RegExp(
      `^concord: ${X}: another process holds a run lock on a folder inside this root \\(flock\\), as a Concord run with another CONCORD_HOME does: pid ${inner.pid} `,
    ),
  );
  assert.deepEqual(readdirSync(X).sort(), ['b.txt', 'sub'], 'X untouched');

  // A destination beside the held one, and one not made yet, share the folders above: no wait.
  const beside = Date.now();
  assert.equal((await runCli(['mirror', Z, join(X, 'other')], { env })).code, 0);
  assert.ok(Date.now() - beside < 3000, 'no wait for a run beside it');
  assert.equal(readFileSync(join(X, 'other', 'z.txt'), 'utf8'), 'z');
  inner.stdin.end();
  await once(inner, 'exit');
  assert.equal((await runCli(['mirror', Z, X], { env })).code, 0, 'free again');
});
