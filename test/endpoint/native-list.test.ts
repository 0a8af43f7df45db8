import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import {
  chmodSync,
  mkdirSync,
  renameSync,
  rmSync,
  symlinkSync,
  utimesSync,
  writeFileSync,
} from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import fc from 'fast-check';
import { listDirPacked } from '../../src/endpoint/local/listing.ts';
import { nativeLister } from '../../src/endpoint/local/native.ts';
import { rawStatInto } from '../../src/endpoint/local/stat-words.ts';
import { sansDigest } from '../helpers/listing.ts';
import { giveToNobody, IS_ROOT } from '../helpers/nobody.ts';
import { tempDir } from '../helpers/tree.ts';

const LISTING = fileURLToPath(new URL('../../src/endpoint/local/listing.ts', import.meta.url));

/** The native and the JavaScript listing of one directory, which must be the same. */
function both(abs: string, dir: string) {
  const stat = rawStatInto(abs.split('/').slice(0, 2).join('/') || '/');
  return [
    sansDigest(listDirPacked(abs, dir, stat, true)),
    listDirPacked(abs, dir, stat, false),
  ] as const;
}

test('the native lister is built and loaded on Linux (npm install builds it)', () => {
  if (process.platform === 'linux') assert.ok(nativeLister(), 'run `npm install` (node-gyp)');
});

test('native and JavaScript listings agree on every kind of entry', (t) => {
  const root = tempDir(t);
  mkdirSync(join(root, 'd'), { mode: 0o750 });
  mkdirSync(join(root, '.concord'));
  writeFileSync(join(root, 'f'), 'hello');
  writeFileSync(join(root, 'big'), Buffer.alloc(70_000));
  chmodSync(join(root, 'big'), 0o4755);
  symlinkSync('f', join(root, 'l'));
  symlinkSync('x'.repeat(3000), join(root, 'long-link'));
  symlinkSync('y'.repeat(4095), join(root, 'longest-link')); // PATH_MAX - 1, the most Linux takes
  symlinkSync('ça/ü', join(root, 'unicode-link'));
  writeFileSync(join(root, 'old'), 'x');
  utimesSync(join(root, 'old'), -1.5, -1.5);
  writeFileSync(join(root, 'future'), 'x');
  utimesSync(join(root, 'future'), 4_102_444_800.25, 4_102_444_800.25);
  writeFileSync(join(root, '.concord-tmp-0123abcd0-f'), 'partial');
  // UTF-16 order and byte order differ here: U+FF5E sorts after U+1F600 in UTF-16 only.
  for (const n of ['\uff5e', '\u{1f600}', 'é', 'e\u0301', 'Z', 'a b', '-', '~'])
    writeFileSync(join(root, n), n);
  assert.equal(spawnSync('mkfifo', [join(root, 'p')]).status, 0);
  for (let i = 0; i < 300; i++) writeFileSync(join(root, 'd', `n${i}`), '');

  for (const [abs, dir] of [
    [root, ''],
    [join(root, 'd'), 'd'],
  ] as const) {
    const [native, js] = both(abs, dir);
    assert.deepEqual(native, js, dir);
  }
  const [native] = both(root, '');
  assert.deepEqual(native.leftovers, ['.concord-tmp-0123abcd0-f']);
  assert.deepEqual(
    native.problems.map((p) => [p.path, p.code]),
    [['p', 'special-file']],
  );
  // Not the root: .concord is an ordinary name there.
  mkdirSync(join(root, 'd', '.concord'));
  const [n2, j2] = both(join(root, 'd'), 'd');
  assert.deepEqual(n2, j2);
  assert.ok(n2.packed.names.split('\0').includes('.concord'));
});

test('native and JavaScript listings agree on directories that cannot be listed', (t) => {
  const root = tempDir(t);
  writeFileSync(join(root, 'file'), 'x');
  for (const [abs, dir] of [
    [join(root, 'missing'), 'missing'],
    [join(root, 'file'), 'file'],
  ] as const) {
    const [native, js] = both(abs, dir);
    assert.deepEqual(native, js);
    assert.equal(native.complete, false);
    assert.match(
      native.problems[0]?.message ?? '',
      /cannot list directory: .*\((ENOENT|ENOTDIR)\)/,
    );
  }
});

test('a name that is not UTF-8 is reported the same way by both listings', (t) => {
  const root = tempDir(t);
  writeFileSync(join(root, 'ok'), 'x');
  const bad = Buffer.concat([Buffer.from(`${root}/bad-`), Buffer.from([0xff, 0xfe])]);
  writeFileSync(bad, 'x');
  const [native, js] = both(root, '');
  assert.deepEqual(native, js);
  assert.deepEqual(
    native.problems.map((p) => p.code),
    ['invalid-name'],
  );
});

test('entries that cannot be stat-ed are problems in both listings (run as nobody)', (t) => {
  if (!IS_ROOT) return; // root stats everything; CI runs as root
  const root = tempDir(t);
  // Readable but not searchable: readdir works, every stat fails with EACCES.
  mkdirSync(join(root, 'r'));
  writeFileSync(join(root, 'r', 'a'), 'x');
  writeFileSync(join(root, 'r', 'b'), 'x');
  assert.equal(spawnSync('mkfifo', [join(root, 'r', 'c')]).status, 0);
  // Neither: the directory itself cannot be listed.
  mkdirSync(join(root, 'x'));
  giveToNobody(root);
  chmodSync(join(root, 'r'), 0o444);
  chmodSync(join(root, 'x'), 0o000);
  const script = `
    import { listDirPacked } from ${JSON.stringify(LISTING)};
    const out = [];
    for (const [abs, dir] of ${JSON.stringify([
      [join(root, 'r'), 'r'],
      [join(root, 'x'), 'x'],
    ])}) out.push([listDirPacked(abs, dir, undefined, true), listDirPacked(abs, dir, undefined, false)]);
    process.stdout.write(JSON.stringify(out, (k, v) => v instanceof Int32Array ? [...v] : v));`;
  const r = spawnSync(
    'setpriv',
    [
      '--reuid=65534',
      '--regid=65534',
      '--clear-groups',
      process.execPath,
      '--import',
      'tsx',
      '--input-type=module',
      '-e',
      script,
    ],
    { encoding: 'utf8', cwd: fileURLToPath(new URL('../..', import.meta.url)) },
  );
  assert.equal(r.status, 0, r.stderr);
  const [[rNative, rJs], [xNative, xJs]] = JSON.parse(r.stdout);
  assert.deepEqual(sansDigest(rNative), rJs);
  assert.deepEqual(xNative, xJs);
  assert.equal(rNative.complete, false);
  assert.deepEqual(
    rNative.problems.map((p: { path: string; message: string }) => [p.path, p.message]),
    [
      ['r/a', 'cannot stat: permission denied (EACCES)'],
      ['r/b', 'cannot stat: permission denied (EACCES)'],
      ['r/c', 'cannot stat: permission denied (EACCES)'],
    ],
  );
  assert.match(xNative.problems[0].message, /permission denied \(EACCES\)/);
});

test('property: native and JavaScript listings agree on random directories', (t) => {
  const root = tempDir(t);
  const name = fc
    .string({
      unit: fc.constantFrom('a', 'B', 'é', '\u{1f600}', '\uff5e', '.', '-', ' ', 'z'),
      minLength: 1,
      maxLength: 4,
    })
    .filter((n) => n !== '.' && n !== '..');
  const entry = fc.record({
    name,
    kind: fc.constantFrom('file', 'dir', 'symlink'),
    size: fc.nat(300),
    mode: fc.constantFrom(0o644, 0o600, 0o755, 0o700),
    mtime: fc.integer({ min: -100_000, max: 4_000_000_000 }),
  });
  let run = 0;
  fc.assert(
    fc.property(fc.uniqueArray(entry, { selector: (e) => e.name, maxLength: 20 }), (entries) => {
      const dir = join(root, `case${run++}`);
      mkdirSync(dir);
      try {
        for (const e of entries) {
          const p = join(dir, e.name);
          if (e.kind === 'dir') mkdirSync(p, { mode: e.mode });
          else if (e.kind === 'symlink') symlinkSync(`t${e.name.repeat(e.size % 7)}`, p);
          else {
            writeFileSync(p, Buffer.alloc(e.size), { mode: e.mode });
            chmodSync(p, e.mode);
          }
          if (e.kind !== 'symlink') utimesSync(p, e.mtime, e.mtime);
        }
        const [native, js] = both(dir, `case${run}`);
        assert.deepEqual(native, js);
        assert.equal(native.packed.words.length / 12, entries.length);
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    }),
    { numRuns: 200 },
  );
});

test('the native digest moves with every entry of the listing, not with what is below a subdirectory', (t) => {
  const root = tempDir(t);
  mkdirSync(join(root, 'sub'));
  writeFileSync(join(root, 'f'), 'hello');
  symlinkSync('f', join(root, 'l'));
  const digest = () => {
    const d = listDirPacked(root, '', undefined, true).packed.digest;
    assert.match(d ?? '', /^n[0-9a-f]{32}$/);
    return d;
  };
  const seen = new Set([digest()]);
  assert.equal(digest(), [...seen][0], 'the same listing, the same digest');
  const changes: [string, () => void][] = [
    ['a subdirectory changes below', () => writeFileSync(join(root, 'sub', 'inner'), 'x')],
  ];
  for (const [what, change] of changes) {
    change();
    assert.ok(seen.has(digest()), what);
  }
  const moves: [string, () => void][] = [
    ['same size, other mtime', () => utimesSync(join(root, 'f'), 1000, 1000.5)],
    [
      'same size and mtime, other ctime',
      () => {
        writeFileSync(join(root, 'f'), 'HELLO');
        utimesSync(join(root, 'f'), 1000, 1000.5);
      },
    ],
    ['another size', () => writeFileSync(join(root, 'f'), 'hello!')],
    ['another mode', () => chmodSync(join(root, 'f'), 0o600)],
    [
      'another link target',
      () => {
        rmSync(join(root, 'l'));
        symlinkSync('g', join(root, 'l'));
      },
    ],
    ['a new name', () => writeFileSync(join(root, 'g'), '')],
    ["a subdirectory's mode", () => chmodSync(join(root, 'sub'), 0o700)],
    ['a rename', () => renameSync(join(root, 'g'), join(root, 'h'))],
  ];
  for (const [what, change] of moves) {
    change();
    const d = digest();
    assert.ok(!seen.has(d), what);
    seen.add(d);
  }
});
