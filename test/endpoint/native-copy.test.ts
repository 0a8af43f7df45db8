import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { lstatSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { test } from 'node:test';
import { xxhash128 } from 'hash-wasm';
import type { Entry } from '../../src/core/entry.ts';
import { ABSENT, type Precondition } from '../../src/core/plan.ts';
import { ChangedDuringSync } from '../../src/endpoint/endpoint.ts';
import { SMALL_FILE } from '../../src/endpoint/local/copy-file.ts';
import { LocalEndpoint } from '../../src/endpoint/local/local.ts';
import { nativeCopier } from '../../src/endpoint/local/native.ts';
import { NativeCopies } from '../../src/endpoint/local/native-copy.ts';
import { entryOf } from '../../src/endpoint/local/stat.ts';
import { tempDir } from '../helpers/tree.ts';

// A time with nanoseconds the JavaScript copy cannot set (utimes takes microseconds at best):
// a copy that keeps them was made by the native copy.
const MTIME = 1_700_000_000_123_456_789n;

function setup(t: Parameters<typeof tempDir>[0], native = true) {
  const src = tempDir(t);
  const dst = tempDir(t);
  return { src, dst, ep: new LocalEndpoint({ root: dst, native }) };
}

function source(abs: string): { type: 'local-file'; path: string; expect: Entry } {
  const expect = entryOf(basename(abs), abs, lstatSync(abs, { bigint: true })) as Entry;
  return { type: 'local-file', path: abs, expect };
}

const leftovers = (dir: string) => readdirSync(dir).filter((n) => n.startsWith('.concord-tmp'));

test('the native copy is built and loaded on Linux (npm install builds it)', () => {
  if (process.platform === 'linux') assert.ok(nativeCopier(), 'run `npm install` (node-gyp)');
});

test('it takes only new small files with no old version to keep', () => {
  const job = {
    src: '/a',
    expect: { size: 10 } as Entry,
    dst: '/b',
    shown: 'b',
    mode: 0o644,
    mtimeNs: 0n,
    pre: ABSENT as Precondition,
    trashPath: undefined,
    fsync: false,
  };
  assert.equal(NativeCopies.takes(job), true);
  assert.equal(NativeCopies.takes({ ...job, hash: true }), true);
  assert.equal(NativeCopies.takes({ ...job, trashPath: '/t/b' }), false);
  assert.equal(NativeCopies.takes({ ...job, pre: { type: 'dir' } }), false);
  const big = { ...job, expect: { size: SMALL_FILE + 1 } as Entry };
  assert.equal(NativeCopies.takes(big), false);
});

test('a new file: content, mode and mtime to the nanosecond, no temporary left', async (t) => {
  const { src, dst, ep } = setup(t);
  const cases: [string, Buffer, number, bigint][] = [
    ['empty', Buffer.alloc(0), 0o600, MTIME],
    ['small', Buffer.from('hello'), 0o4755, MTIME],
    ['largest', Buffer.alloc(SMALL_FILE, 7), 0o644, MTIME],
    // Before 1970: the nanoseconds of a negative time count up from the second below.
    ['old', Buffer.from('x'), 0o640, -1_500_000_001n],
  ];
  for (const [name, data, mode, mtimeNs] of cases) {
    writeFileSync(join(src, name), data);
    const n = await ep.write(name, source(join(src, name)), { mode, mtimeNs }, ABSENT);
    assert.equal(n, data.length, name);
    assert.deepEqual(readFileSync(join(dst, name)), data, name);
    const st = lstatSync(join(dst, name), { bigint: true });
    assert.equal(Number(st.mode & 0o7777n), mode, name);
    assert.equal(st.mtimeNs, mtimeNs, name);
  }
  assert.deepEqual(leftovers(dst), []);
});

test('a copy that wants its hash gets the XXH3-128 of the bytes it wrote, as hash-wasm computes it', async (t) => {
  const { src, ep } = setup(t);
  const sizes = [0, 1, 16, 17, 128, 129, 240, 241, 1000, 70_000, SMALL_FILE];
  for (const size of sizes) {
    const data = Buffer.alloc(size);
    for (let i = 0; i < size; i++) data[i] = (i * 131 + size) & 0xff;
    writeFileSync(join(src, `f${size}`), data);
    let got: string | undefined;
    const from = { ...source(join(src, `f${size}`)), onHash: (h: string) => (got = h) };
    await ep.write(`f${size}`, from, { mode: 0o644, mtimeNs: MTIME }, ABSENT);
    assert.equal(got, await xxhash128(data), `${size} bytes`);
  }
});

test('many copies asked at once go out in batches and all land', async (t) => {
  const { src, dst, ep } = setup(t);
  mkdirSync(join(dst, 'd'));
  const names = Array.from({ length: 300 }, (_, i) => `f${i}`);
  for (const n of names) writeFileSync(join(src, n), `content of ${n}`);
  const sizes = await Promise.all(
    names.map((n) =>
      ep.write(`d/${n}`, source(join(src, n)), { mode: 0o644, mtimeNs: MTIME }, ABSENT),
    ),
  );
  assert.deepEqual(
    sizes,
    names.map((n) => `content of ${n}`.length),
  );
  for (const n of names) assert.equal(readFileSync(join(dst, 'd', n), 'utf8'), `content of ${n}`);
  assert.deepEqual(leftovers(join(dst, 'd')), []);
});

test('S16: a target that appeared since the plan is left as it is, nothing half-written', async (t) => {
  const { src, dst, ep } = setup(t);
  writeFileSync(join(src, 'f'), 'mine');
  const from = source(join(src, 'f'));
  writeFileSync(join(dst, 'f'), 'theirs');
  await assert.rejects(
    ep.write('f', from, { mode: 0o644, mtimeNs: MTIME }, ABSENT),
    (err: unknown) => err instanceof ChangedDuringSync && err.side === 'target',
  );
  assert.equal(readFileSync(join(dst, 'f'), 'utf8'), 'theirs');
  assert.deepEqual(leftovers(dst), []);
});

test('S16: a source changed since the scan is not copied', async (t) => {
  const { src, dst, ep } = setup(t);
  writeFileSync(join(src, 'f'), 'first');
  const from = source(join(src, 'f'));
  writeFileSync(join(src, 'f'), 'second, longer');
  await assert.rejects(
    ep.write('f', from, { mode: 0o644, mtimeNs: MTIME }, ABSENT),
    (err: unknown) =>
      err instanceof ChangedDuringSync &&
      err.side === 'source' &&
      err.message === 'f changed on the source before it was copied',
  );
  assert.deepEqual(readdirSync(dst), []);
});

test('a source gone and a target folder gone fail as Node would say it, naming the path', async (t) => {
  const { src, dst, ep } = setup(t);
  writeFileSync(join(src, 'f'), 'x');
  const from = source(join(src, 'f'));
  rmSync(join(src, 'f'));
  await assert.rejects(ep.write('f', from, { mode: 0o644, mtimeNs: MTIME }, ABSENT), {
    code: 'ENOENT',
    syscall: 'open',
    path: join(src, 'f'),
  });
  writeFileSync(join(src, 'g'), 'x');
  await assert.rejects(
    ep.write('missing/g', source(join(src, 'g')), { mode: 0o644, mtimeNs: MTIME }, ABSENT),
    (err: NodeJS.ErrnoException) =>
      err.code === 'ENOENT' && (err.path ?? '').startsWith(join(dst, 'missing', '.concord-tmp-')),
  );
  assert.deepEqual(readdirSync(dst), []);
});

/**
 * Scans src/f, puts what `replace` makes in its place, then copies it to B: refused as a
 * changed source (S16), nothing left on B.
 */
async function copyReplacedSource(
  t: Parameters<typeof tempDir>[0],
  native: boolean,
  replace: (abs: string) => void,
): Promise<void> {
  const { src, dst, ep } = setup(t, native);
  const abs = join(src, 'f');
  writeFileSync(abs, 'data');
  const from = source(abs);
  rmSync(abs);
  replace(abs);
  await assert.rejects(
    ep.write('f', from, { mode: 0o644, mtimeNs: MTIME }, ABSENT),
    (err: unknown) => err instanceof ChangedDuringSync && err.side === 'source',
  );
  assert.deepEqual(readdirSync(dst), []);
}

test('S16: a source replaced by a directory is refused as changed, not read', async (t) => {
  await copyReplacedSource(t, true, (abs) => mkdirSync(abs));
});

test('with native: false, the same copy is made in JavaScript (to the microsecond)', async (t) => {
  const { src, dst, ep } = setup(t, false);
  writeFileSync(join(src, 'f'), 'hello');
  await ep.write('f', source(join(src, 'f')), { mode: 0o640, mtimeNs: MTIME }, ABSENT);
  assert.equal(readFileSync(join(dst, 'f'), 'utf8'), 'hello');
  const st = lstatSync(join(dst, 'f'), { bigint: true });
  assert.equal(st.mtimeNs / 1000n, MTIME / 1000n);
  assert.deepEqual(leftovers(dst), []);
});

for (const native of [true, false]) {
  test(`S16: a source replaced by a FIFO is refused at once, not waited on (native: ${native})`, async (t) => {
    const started = Date.now();
    await copyReplacedSource(t, native, (fifo) => {
      assert.equal(spawnSync('mkfifo', [fifo]).status, 0);
      // An open that waits for a writer would block this thread for good: a writer 3 s from
      // now ends such a wait, so that a regression fails the time check below, not hangs.
      const rescue = spawn('sh', ['-c', `sleep 3; exec 3>'${fifo}'`], { stdio: 'ignore' });
      t.after(() => rescue.kill());
    });
    assert.ok(Date.now() - started < 2500, 'the open waited for a writer');
  });
}
