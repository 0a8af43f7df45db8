/**
 * S1 (no missed update) for the file index, as a fast-check property on real directories: a
 * random tree is indexed, then randomly mutated (same-size rewrites with the mtime restored,
 * touch-only, mtime rollback, chmod, delete, create, file and directory renames), then
 * `status` must report every path whose content changed, and a refresh must leave every row's
 * hash equal to the file's content now.
 */
import assert from 'node:assert/strict';
import {
  chmodSync,
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  statSync,
  utimesSync,
  writeFileSync,
} from 'node:fs';
import { dirname, join } from 'node:path';
import { test } from 'node:test';
import Database from 'better-sqlite3';
import fc from 'fast-check';
import { createXXHash128 } from 'hash-wasm';
import { indexLocal, statusLocal } from '../../src/local-state.ts';
import { tempDir } from '../helpers/tree.ts';

const NAMES = ['a', 'b', 'c', 'd/e', 'd/f', 'd/g/h', 'k/l'];
const PAST = 1_600_000_000;

type Mutation =
  | { type: 'same-size'; target: number; salt: number }
  | { type: 'rewrite'; target: number; text: string }
  | { type: 'touch'; target: number; back: number }
  | { type: 'chmod'; target: number }
  | { type: 'delete'; target: number }
  | { type: 'create'; target: number; text: string }
  | { type: 'rename-dir' }
  | { type: 'rename-file'; target: number };

const mutationArb: fc.Arbitrary<Mutation> = fc.oneof(
  fc.record({ type: fc.constant('same-size' as const), target: fc.nat(), salt: fc.nat(25) }),
  fc.record({ type: fc.constant('rewrite' as const), target: fc.nat(), text: fc.string() }),
  fc.record({
    type: fc.constant('touch' as const),
    target: fc.nat(),
    back: fc.integer({ min: -5, max: 5 }),
  }),
  fc.record({ type: fc.constant('chmod' as const), target: fc.nat() }),
  fc.record({ type: fc.constant('delete' as const), target: fc.nat() }),
  fc.record({ type: fc.constant('create' as const), target: fc.nat(), text: fc.string() }),
  fc.record({ type: fc.constant('rename-dir' as const) }),
  fc.record({ type: fc.constant('rename-file' as const), target: fc.nat() }),
);

const caseArb = fc.record({
  files: fc.dictionary(fc.constantFrom(...NAMES), fc.string({ minLength: 1, maxLength: 12 }), {
    minKeys: 1,
  }),
  mutations: fc.array(mutationArb, { minLength: 1, maxLength: 6 }),
});

function listFiles(root: string, rel = ''): string[] {
  const out: string[] = [];
  for (const name of readdirSync(join(root, rel)).sort()) {
    if (rel === '' && name === '.concord') continue;
    const r = rel ? `${rel}/${name}` : name;
    if (statSync(join(root, r)).isDirectory()) out.push(...listFiles(root, r));
    else out.push(r);
  }
  return out;
}

function snapshot(root: string): Map<string, string> {
  return new Map(listFiles(root).map((p) => [p, readFileSync(join(root, p), 'latin1')]));
}

function mutate(root: string, m: Mutation): void {
  const files = listFiles(root);
  const pick = (n: number) => files[n % Math.max(files.length, 1)];
  const p = 'target' in m ? pick(m.target) : undefined;
  const abs = p && join(root, p);
  switch (m.type) {
    case 'same-size': {
      if (!abs) return;
      const st = statSync(abs);
      const old = readFileSync(abs, 'latin1');
      const next = [...old]
        .map((ch, i) => String.fromCharCode(97 + ((ch.charCodeAt(0) + m.salt + i) % 26)))
        .join('');
      writeFileSync(abs, next, 'latin1');
      utimesSync(abs, st.atime, st.mtime); // the mtime says nothing happened
      return;
    }
    case 'rewrite':
      if (abs) writeFileSync(abs, m.text);
      return;
    case 'touch':
      if (abs) utimesSync(abs, PAST + m.back, PAST + m.back);
      return;
    case 'chmod':
      if (abs) chmodSync(abs, 0o600);
      return;
    case 'delete':
      if (abs) rmSync(abs);
      return;
    case 'create': {
      const name = join(root, `${NAMES[m.target % NAMES.length]}-new`);
      mkdirSync(dirname(name), { recursive: true });
      writeFileSync(name, m.text);
      return;
    }
    case 'rename-dir':
      if (existsSync(join(root, 'd')) && !existsSync(join(root, 'd2')))
        renameSync(join(root, 'd'), join(root, 'd2'));
      return;
    case 'rename-file':
      if (abs && !existsSync(`${abs}-moved`)) renameSync(abs, `${abs}-moved`);
      return;
  }
}

test('S1 the index misses no update: status reports every changed path, a refresh leaves no stale hash', async (t) => {
  const hasher = await createXXHash128();
  const hashOf = (text: string) => hasher.init().update(Buffer.from(text, 'latin1')).digest('hex');
  let run = 0;
  await fc.assert(
    fc.asyncProperty(caseArb, async (c) => {
      const dir = tempDir(t);
      const root = join(dir, `r${run++}`);
      for (const [name, text] of Object.entries(c.files)) {
        mkdirSync(dirname(join(root, name)), { recursive: true });
        writeFileSync(join(root, name), text);
        utimesSync(join(root, name), PAST, PAST);
      }
      // Indexed a minute "later" so no entry is racy: the stat check alone must catch edits.
      let offset = 60_000;
      const o = { home: join(dir, 'home'), workers: false, now: () => Date.now() + offset };
      await indexLocal(root, o);
      const before = snapshot(root);
      for (const m of c.mutations) mutate(root, m);
      const after = snapshot(root);
      offset += 60_000;

      const { changes } = await statusLocal(root, o);
      const reported = (p: string) =>
        changes.some((ch) => ch.path === p || (ch.entry === 'dir' && p.startsWith(`${ch.path}/`)));
      for (const p of new Set([...before.keys(), ...after.keys()])) {
        if (before.get(p) !== after.get(p))
          assert.ok(reported(p), `${p} changed but status missed it`);
      }

      await indexLocal(root, o);
      const db = new Database(join(o.home, 'state.db'), { readonly: true });
      try {
        const rows = db.prepare('SELECT dir, name, hash FROM files WHERE kind = 0').all() as {
          dir: string;
          name: string;
          hash: string | null;
        }[];
        assert.equal(rows.length, after.size);
        for (const r of rows) {
          const p = r.dir ? `${r.dir}/${r.name}` : r.name;
          assert.equal(r.hash, hashOf(after.get(p) as string), `stale hash for ${p}`);
        }
      } finally {
        db.close();
      }
    }),
    { numRuns: 150 },
  );
});
