import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { lstatSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { test } from 'node:test';
import fc from 'fast-check';
import { xxhash128 } from 'hash-wasm';
import type { Entry } from '../../src/core/entry.ts';
import { ChangedDuringSync } from '../../src/endpoint/endpoint.ts';
import { FileHasher, hashFileSync } from '../../src/endpoint/local/hash-file.ts';
import { nativeHasher } from '../../src/endpoint/local/native.ts';
import { NativeHashes, nativeHashFile } from '../../src/endpoint/local/native-hash.ts';
import { entryOf } from '../../src/endpoint/local/stat.ts';
import { tempDir } from '../helpers/tree.ts';

const hasher = nativeHasher();

/** The file as a scan sees it. */
function seen(abs: string): Entry {
  return entryOf(basename(abs), abs, lstatSync(abs, { bigint: true })) as Entry;
}

test('the native hash is built and loaded on Linux (npm install builds it)', () => {
  if (process.platform === 'linux') assert.ok(hasher, 'run `npm install` (node-gyp)');
});

test("property: the native XXH3-128 of any bytes is hash-wasm's, in memory and from a file", async (t) => {
  if (!hasher) return;
  const dir = tempDir(t);
  // Lengths around XXH3's internal boundaries (16, 128, 240 bytes, 1 KiB stripes, 64 KiB reads).
  const length = fc.oneof(
    fc.integer({ min: 0, max: 300 }),
    fc.integer({ min: 900, max: 1200 }),
    fc.integer({ min: 65_000, max: 140_000 }),
  );
  let n = 0;
  await fc.assert(
    fc.asyncProperty(length, fc.integer({ min: 0, max: 255 }), async (size, seed) => {
      const data = Buffer.alloc(size);
      for (let i = 0; i < size; i++) data[i] = (i * 167 + seed * 31 + (i >> 8)) & 0xff;
      const want = await xxhash128(data);
      assert.equal(hasher.hashBytes(data), want);
      const abs = join(dir, `f${n++}`);
      writeFileSync(abs, data);
      assert.equal(nativeHashFile(hasher, { abs, expect: seen(abs), shown: 'f' }), want);
    }),
    { numRuns: 300 },
  );
});

test('S16: a file changed since it was seen, or replaced by a FIFO, is refused; a missing one fails as Node would say it', (t) => {
  if (!hasher) return;
  const dir = tempDir(t);
  const abs = join(dir, 'f');
  writeFileSync(abs, 'first');
  const before = seen(abs);
  writeFileSync(abs, 'second, longer');
  assert.throws(
    () => nativeHashFile(hasher, { abs, expect: before, shown: 'f' }),
    (e) => {
      assert.ok(e instanceof ChangedDuringSync);
      assert.match((e as Error).message, /^f changed since it was scanned$/);
      return true;
    },
  );
  const fifo = join(dir, 'p');
  writeFileSync(fifo, 'x');
  const asFile = seen(fifo);
  rmSync(fifo);
  assert.equal(spawnSync('mkfifo', [fifo]).status, 0);
  // O_NONBLOCK: refused at once, not a wait for a writer.
  assert.throws(
    () => nativeHashFile(hasher, { abs: fifo, expect: asFile, shown: 'p' }),
    ChangedDuringSync,
  );
  assert.throws(
    () => nativeHashFile(hasher, { abs: join(dir, 'gone'), expect: before, shown: 'gone' }),
    { code: 'ENOENT', syscall: 'open', path: join(dir, 'gone') },
  );
});

test('S1 S16: a file rewritten in place after the scan, at the same size and with its mtime put back, is refused through its ctime, natively and in JavaScript; one of the same stat is hashed whole', async (t) => {
  const dir = tempDir(t);
  const abs = join(dir, 'f');
  const big = Buffer.alloc(200_000, 'a');
  writeFileSync(abs, big);
  const T = 1_700_000_000;
  utimesSync(abs, T, T);
  const before = seen(abs);
  const js = await new FileHasher().ready();
  const buf = Buffer.alloc(65_536);
  const want = await xxhash128(big);
  const hashers: [string, (e: Entry) => string][] = [
    ['js', (e) => hashFileSync({ abs, expect: e, shown: 'f' }, js, buf)],
  ];
  if (hasher)
    hashers.push(['native', (e) => nativeHashFile(hasher, { abs, expect: e, shown: 'f' })]);
  for (const [name, hash] of hashers) assert.equal(hash(before), want, name);
  // tar, cp -p or rsync -t leave size and mtime as they were; only ctime tells.
  const other = Buffer.alloc(200_000, 'b');
  writeFileSync(abs, other);
  utimesSync(abs, T, T);
  const after = seen(abs);
  assert.equal(after.size, before.size);
  assert.equal(after.mtimeNs, before.mtimeNs);
  assert.notEqual(after.ctimeNs, before.ctimeNs);
  for (const [name, hash] of hashers) {
    assert.throws(
      () => hash(before),
      (e) => {
        assert.ok(e instanceof ChangedDuringSync, name);
        assert.match((e as Error).message, /^f changed since it was scanned$/);
        return true;
      },
    );
    assert.equal(hash(after), await xxhash128(other), `${name}: the new stat, the new content`);
  }
});

test("the batched native hash (libuv's pool) gives each file hashFile's digest and error, whatever the batch holds", async (t) => {
  if (!hasher) return;
  const dir = tempDir(t);
  const hashes = new NativeHashes(hasher);
  const jobs: { abs: string; expect: Entry; shown: string; want: string }[] = [];
  for (let i = 0; i < 150; i++) {
    const data = Buffer.alloc((i * 977) % 70_000, i & 0xff);
    const abs = join(dir, `f${i}`);
    writeFileSync(abs, data);
    jobs.push({ abs, expect: seen(abs), shown: `f${i}`, want: await xxhash128(data) });
  }
  // Asked in one tick: several batches at once, each answer in its own place.
  const changed = join(dir, 'changed');
  writeFileSync(changed, 'first');
  const before = seen(changed);
  writeFileSync(changed, 'second, longer');
  const asked = jobs.map((j) => hashes.hash(j));
  const refused = hashes.hash({ abs: changed, expect: before, shown: 'changed' });
  const missing = hashes.hash({ abs: join(dir, 'gone'), expect: before, shown: 'gone' });
  // Each rejection is awaited from the start: its batch may end before the others do.
  const failures = Promise.all([
    assert.rejects(refused, (e) => {
      assert.ok(e instanceof ChangedDuringSync);
      assert.match((e as Error).message, /^changed changed since it was scanned$/);
      return true;
    }),
    assert.rejects(missing, { code: 'ENOENT', syscall: 'open', path: join(dir, 'gone') }),
  ]);
  assert.deepEqual(
    await Promise.all(asked),
    jobs.map((j) => j.want),
  );
  await failures;
});
