import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import fc from 'fast-check';
import type { RelPath } from '../../src/core/path.ts';
import { listDirPacked } from '../../src/endpoint/local/listing.ts';
import { type NativeLister, nativeLister } from '../../src/endpoint/local/native.ts';
import { NativeWalkAhead } from '../../src/endpoint/local/native-walk.ts';
import { sansDigest } from '../helpers/listing.ts';
import { makeTree, readTree, runCli, type Spec, tempDir } from '../helpers/tree.ts';

const NO_FILTER = { rules: [], ignoreFileText: '' };

/** The real lister, recording every directory asked for and every one listed. */
function recording(): { lister: NativeLister; asked: string[]; listed: string[] } {
  const real = nativeLister();
  assert.ok(real, 'the native lister is built on Linux (npm install)');
  const asked: string[] = [];
  const listed: string[] = [];
  return {
    asked,
    listed,
    lister: {
      list: real.list,
      listAsync(absDirs, skip, prefix, budget, done) {
        asked.push(...absDirs);
        real.listAsync(absDirs, skip, prefix, budget, (err, result) => {
          listed.push(...(result?.[1] ?? []));
          done(err, result);
        });
      },
    },
  };
}

/** A tree of `width` directories per level, `depth` levels, two files in each. */
function tree(root: string, width: number, depth: number, at = ''): RelPath[] {
  const dirs: RelPath[] = [];
  for (let i = 0; i < width; i++) {
    const dir = at === '' ? `d${i}` : `${at}/d${i}`;
    mkdirSync(join(root, dir));
    writeFileSync(join(root, dir, 'f'), dir);
    writeFileSync(join(root, dir, 'g'), '');
    dirs.push(dir);
    if (depth > 1) dirs.push(...tree(root, width, depth - 1, dir));
  }
  return dirs;
}

test('the native walk lists every directory as the JavaScript listing does', async (t) => {
  if (process.platform !== 'linux') return;
  const root = tempDir(t);
  const dirs = ['', ...tree(root, 4, 4)]; // 341 directories: many calls, most listed in C
  writeFileSync(join(root, 'top'), 'x');
  mkdirSync(join(root, '.concord'));
  const { lister, asked, listed } = recording();
  const walk = new NativeWalkAhead(root, NO_FILTER, lister);
  for (const dir of dirs) {
    const got = await walk.take(dir);
    assert.deepEqual(
      sansDigest(got),
      listDirPacked(dir === '' ? root : join(root, dir), dir, undefined, false),
    );
  }
  // Handed out once: a second take lists directly.
  assert.equal(await walk.take('d0'), undefined);
  await walk.close();
  const rel = (p: string) => (p === root ? '' : p.slice(root.length + 1));
  assert.deepEqual(new Set(listed.map(rel)), new Set(dirs));
  // Without a filter the walk goes down in C: far fewer calls than directories.
  assert.ok(asked.length < dirs.length / 4, `${asked.length} calls`);
});

test('the native walk does not enter what the filter excludes', async (t) => {
  if (process.platform !== 'linux') return;
  const root = tempDir(t);
  const all = ['', ...tree(root, 3, 3)];
  const kept = all.filter((d) => !d.split('/').includes('d1'));
  const { lister, asked } = recording();
  const walk = new NativeWalkAhead(
    root,
    { rules: [{ type: 'exclude', pattern: 'd1/' }], ignoreFileText: '' },
    lister,
  );
  for (const dir of kept) assert.ok(await walk.take(dir), dir);
  await walk.close();
  assert.deepEqual(asked.map((p) => p.slice(root.length + 1)).sort(), [...kept].sort());
});

test('property: taken in any order, every listing is the direct one', async (t) => {
  if (process.platform !== 'linux') return;
  const root = tempDir(t);
  const dirs = ['', ...tree(root, 3, 3)];
  const direct = new Map(
    dirs.map((d) => [d, listDirPacked(d === '' ? root : join(root, d), d, undefined, true)]),
  );
  await fc.assert(
    fc.asyncProperty(fc.shuffledSubarray(dirs, { minLength: 1 }), async (order) => {
      const walk = new NativeWalkAhead(root, NO_FILTER, recording().lister);
      try {
        for (const dir of order) assert.deepEqual(await walk.take(dir), direct.get(dir), dir);
      } finally {
        await walk.close();
      }
    }),
    { numRuns: 50 },
  );
});

test('the native walk lists a directory with a name that is not UTF-8 in JavaScript', async (t) => {
  if (process.platform !== 'linux') return;
  const root = tempDir(t);
  mkdirSync(join(root, 'sub'));
  writeFileSync(Buffer.concat([Buffer.from(`${root}/sub/bad-`), Buffer.from([0xff])]), 'x');
  const walk = new NativeWalkAhead(root, NO_FILTER, recording().lister);
  const sub = await walk.take('sub');
  await walk.close();
  assert.deepEqual(sub, listDirPacked(join(root, 'sub'), 'sub', undefined, false));
  assert.deepEqual(
    sub?.problems.map((p) => p.code),
    ['invalid-name'],
  );
});

test('closing the native walk with listings in flight waits for them and hands out no more', async (t) => {
  if (process.platform !== 'linux') return;
  const root = tempDir(t);
  tree(root, 4, 3);
  const { lister, asked } = recording();
  const walk = new NativeWalkAhead(root, NO_FILTER, lister);
  const pending = walk.take('d3/d3/d3');
  await walk.close();
  const after = asked.length;
  assert.equal(await pending, undefined);
  assert.equal(await walk.take('d0'), undefined);
  // Nothing is asked for after close.
  await new Promise((resolve) => setImmediate(resolve));
  assert.equal(asked.length, after);
});

test('CONCORD_NATIVE=0: the CLI mirrors and syncs the same through the JavaScript walkers', async (t) => {
  const spec: Spec = { 'top.txt': 'top', link: { link: 'top.txt' }, 'empty/': '' };
  for (let i = 0; i < 40; i++) spec[`d${i % 4}/e${i % 7}/f${i}`] = `content ${i}`;
  const results = [];
  let b1: Record<string, unknown> | undefined;
  for (const native of ['1', '0']) {
    const root = tempDir(t);
    const env = { CONCORD_NATIVE: native, CONCORD_HOME: join(root, 'home') };
    makeTree(join(root, 'a'), spec);
    makeTree(join(root, 'b'), { 'd0/extra': 'only on b' });
    const mirror = await runCli(['mirror', join(root, 'a'), join(root, 'b')], { env });
    assert.equal(mirror.code, 0, mirror.stderr);
    writeFileSync(join(root, 'b', 'd1', 'new-on-b'), 'b');
    writeFileSync(join(root, 'a', 'd2', 'new-on-a'), 'a');
    const sync = await runCli(['sync', join(root, 'a'), join(root, 'b')], { env });
    assert.equal(sync.code, 0, sync.stderr);
    const a = readTree(join(root, 'a'), { meta: false });
    b1 ??= a;
    assert.deepEqual(readTree(join(root, 'b'), { meta: false }), a);
    const shown = (out: string) => out.replaceAll(root, 'ROOT').replace(/ in [\d.]+ m?s/g, '');
    results.push([a, shown(mirror.stdout), shown(sync.stdout)]);
  }
  assert.deepEqual(results[1], results[0]);
  assert.ok(b1?.['d1/new-on-b'], 'the file new on B reached A');
});
