import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { test } from 'node:test';
import { CLI, type Spec } from '../helpers/tree.ts';
import { cli, readTree, roots, summaryOf, tempFiles } from './helpers.ts';

function bigTree(): Spec {
  const spec: Spec = {};
  for (let i = 0; i < 4000; i++)
    spec[`d${i % 40}/f${i}`] = { content: `content ${i} `.repeat(50), mtime: 1_600_000_000 + i };
  return spec;
}

/**
 * Starts `concord mirror --json`, and sends `signal` once the first file has been written (an
 * `op` event on stdout): synchronised on the run's own output, not on a sleep.
 */
/** S14: every file B holds after an interrupted run is A's whole file, none cut short. */
function assertNothingTorn(A: string, B: string): void {
  const a = readTree(A, { meta: false });
  for (const [path, seen] of Object.entries(readTree(B, { meta: false })))
    if (seen.kind === 'file') assert.deepEqual(seen, a[path], `${path} on B`);
}

function interrupt(
  A: string,
  B: string,
  signal: NodeJS.Signals,
): Promise<{ code: number | null; signal: string | null; ops: number }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CLI, 'mirror', A, B, '--json', '--concurrency', '1'], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let ops = 0;
    let sent = false;
    let buf = '';
    child.stdout.on('data', (d: Buffer) => {
      buf += d.toString();
      const lines = buf.split('\n');
      buf = lines.pop() ?? '';
      for (const l of lines) if (l.includes('"type":"op"')) ops++;
      if (ops > 0 && !sent) {
        sent = true;
        child.kill(signal);
      }
    });
    child.on('error', reject);
    child.on('close', (code, sig) => resolve({ code, signal: sig, ops }));
  });
}

test('SIGINT mid-apply: exit 130, nothing torn, and the next run finishes the job (S14, S15)', async (t) => {
  const { dir, A, B } = roots(t, bigTree());
  const r = await interrupt(A, B, 'SIGINT');
  assert.equal(r.code, 130);
  assert.ok(
    Object.keys(readTree(B)).length < Object.keys(readTree(A)).length,
    'stopped before the end',
  );
  assertNothingTorn(A, B);
  assert.deepEqual(tempFiles(dir), []);
  const again = await cli(['mirror', A, B, '--json']);
  assert.equal(again.code, 0, again.stderr);
  assert.deepEqual(readTree(B), readTree(A));
  assert.equal(summaryOf(await cli(['mirror', A, B, '--json'])).created, 0);
});

test('SIGKILL mid-apply (a crash): the next run converges and removes leftover temporary files (S14)', async (t) => {
  const { dir, A, B } = roots(t, bigTree());
  const r = await interrupt(A, B, 'SIGKILL');
  assert.equal(r.signal, 'SIGKILL');
  assertNothingTorn(A, B);
  const again = await cli(['mirror', A, B, '--json']);
  assert.equal(again.code, 0, again.stderr);
  assert.deepEqual(readTree(B), readTree(A));
  assert.deepEqual(tempFiles(dir), []);
});

test('SIGTERM during the scan (a first --checksum run reading every file): exit 130 promptly, nothing changed on B', async (t) => {
  const { A, B } = roots(t, bigTree());
  assert.equal((await cli(['mirror', A, B])).code, 0);
  const before = readTree(B);
  const r = await new Promise<{ code: number | null; lines: string[] }>((resolve, reject) => {
    const child = spawn(process.execPath, [CLI, 'mirror', A, B, '--checksum', '--json'], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    let sent = false;
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString();
      // The first scan event: the walk has begun and nothing has been read yet.
      if (!sent && out.includes('"type":"scan"')) {
        sent = true;
        child.kill('SIGTERM');
      }
    });
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, lines: out.trim().split('\n') }));
  });
  assert.equal(r.code, 130);
  const summary = JSON.parse(r.lines.at(-1) as string) as { hashed: number; updated: number };
  assert.ok(summary.hashed < 8000, `stopped before reading every file (${summary.hashed} read)`);
  assert.equal(summary.updated, 0);
  assert.deepEqual(readTree(B), before);
});
