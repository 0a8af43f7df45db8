import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import {
  existsSync,
  lstatSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  readlinkSync,
  symlinkSync,
  utimesSync,
  writeFileSync,
} from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { xxhash128 } from 'hash-wasm';
import type { Entry } from '../../src/core/entry.ts';
import { ABSENT, ANY_DIR, same } from '../../src/core/plan.ts';
import { ChangedDuringSync, type Endpoint } from '../../src/endpoint/endpoint.ts';
import { tempDir } from '../helpers/tree.ts';

/** Makes an endpoint for `root`, with `trashDir` receiving removed and replaced entries. */
export type MakeEndpoint = (root: string, trashDir: string | undefined) => Endpoint;

export interface ContractOptions {
  /** Tests this endpoint cannot pass, each with the reason (declared, never silently skipped). */
  unsupported?: { test: string; reason: string }[];
}

const MTIME = 1_700_000_000_123_456_789n; // with a nanosecond part a copy cannot keep

async function* chunks(...parts: string[]): AsyncIterable<Uint8Array> {
  for (const p of parts) yield Buffer.from(p);
}

function tempFiles(root: string): string[] {
  const found: string[] = [];
  const walk = (dir: string) => {
    for (const n of readdirSync(dir)) {
      const p = join(dir, n);
      if (n.startsWith('.concord-tmp-')) found.push(p);
      if (lstatSync(p).isDirectory()) walk(p);
    }
  };
  walk(root);
  return found;
}

/**
 * The behaviour every Endpoint promises (endpoint.ts), run against one implementation: the
 * local endpoint now, the SSH endpoint later. Fixtures are made on the local disk at `root`.
 */
export function runEndpointContract(
  name: string,
  make: MakeEndpoint,
  opts: ContractOptions = {},
): void {
  const unsupported = new Set((opts.unsupported ?? []).map((u) => u.test));
  const it = (title: string, fn: (t: { after: (f: () => void) => void }) => Promise<void>) => {
    if (!unsupported.has(title)) test(title, fn);
  };
  const setup = (t: { after: (f: () => void) => void }) => {
    const base = tempDir(t, 'concord-contract-');
    const root = join(base, 'root');
    const trash = join(base, 'trash');
    mkdirSync(root);
    return { root, trash, ep: make(root, trash) };
  };

  describe(`Endpoint contract: ${name}`, () => {
    it('stat: the root is a directory; a missing path is undefined', async (t) => {
      const { ep } = setup(t);
      assert.equal((await ep.stat(''))?.kind, 'dir');
      assert.equal(await ep.stat('nope'), undefined);
    });

    it('list: children in UTF-8 byte order with kind, size, mode, mtime and link target', async (t) => {
      const { root, ep } = setup(t);
      writeFileSync(join(root, 'b.txt'), 'hello');
      utimesSync(join(root, 'b.txt'), 1_600_000_000, 1_600_000_000);
      mkdirSync(join(root, 'Z-dir'));
      symlinkSync('b.txt', join(root, 'a-link'));
      writeFileSync(join(root, 'é'), '');
      writeFileSync(join(root, 'z'), '');
      const l = await ep.list('');
      assert.equal(l.complete, true);
      assert.deepEqual(
        l.entries.map((e) => e.name),
        ['Z-dir', 'a-link', 'b.txt', 'z', 'é'],
      );
      const byName = new Map(l.entries.map((e) => [e.name, e]));
      assert.equal(byName.get('Z-dir')?.kind, 'dir');
      assert.equal(byName.get('a-link')?.kind, 'symlink');
      assert.equal(byName.get('a-link')?.target, 'b.txt');
      const b = byName.get('b.txt') as Entry;
      assert.equal(b.kind, 'file');
      assert.equal(b.size, 5);
      assert.equal(b.mtimeNs, 1_600_000_000_000_000_000n);
      assert.equal(b.mode, lstatSync(join(root, 'b.txt')).mode & 0o7777);
    });

    it("list: hides the root's .concord/; our temporary files are leftovers; special files are problems", async (t) => {
      const { root, ep } = setup(t);
      mkdirSync(join(root, '.concord'));
      writeFileSync(join(root, '.concord-tmp-1234abcd7-x'), 'partial');
      mkdirSync(join(root, 'd'));
      mkdirSync(join(root, 'd', '.concord')); // only the root's is ours
      spawnSync('mkfifo', [join(root, 'fifo')]);
      const top = await ep.list('');
      assert.deepEqual(
        top.entries.map((e) => e.name),
        ['d'],
      );
      assert.deepEqual(
        top.problems.map((p) => [p.path, p.code]),
        [['fifo', 'special-file']],
      );
      assert.deepEqual(
        (await ep.list('d')).entries.map((e) => e.name),
        ['.concord'],
      );
      assert.deepEqual(top.leftovers, ['.concord-tmp-1234abcd7-x']);
      assert.equal(
        existsSync(join(root, '.concord-tmp-1234abcd7-x')),
        true,
        'listing removes nothing',
      );
    });

    it('discard: removes a leftover temporary file, and refuses any other name', async (t) => {
      const { root, ep } = setup(t);
      writeFileSync(join(root, '.concord-tmp-1234abcd7-x'), 'partial');
      writeFileSync(join(root, 'precious'), 'data');
      await ep.discard('.concord-tmp-1234abcd7-x');
      assert.equal(existsSync(join(root, '.concord-tmp-1234abcd7-x')), false);
      await assert.rejects(ep.discard('precious'));
      assert.equal(readFileSync(join(root, 'precious'), 'utf8'), 'data');
    });

    it('list: a directory that cannot be listed is an incomplete listing with a problem', async (t) => {
      const { ep } = setup(t);
      const l = await ep.list('missing');
      assert.equal(l.complete, false);
      assert.equal(l.problems[0]?.path, 'missing');
      assert.equal(l.problems[0]?.code, 'unreadable');
    });

    it('write: creates a file atomically with its content, mode and mtime (to the microsecond)', async (t) => {
      const { root, ep } = setup(t);
      const n = await ep.write(
        'f',
        { type: 'stream', data: chunks('ab', 'cd') },
        { mtimeNs: MTIME, mode: 0o640 },
        ABSENT,
      );
      assert.equal(n, 4);
      assert.equal(readFileSync(join(root, 'f'), 'utf8'), 'abcd');
      const st = lstatSync(join(root, 'f'), { bigint: true });
      assert.equal(Number(st.mode & 0o7777n), 0o640);
      assert.equal(st.mtimeNs / 1000n, MTIME / 1000n);
      assert.deepEqual(tempFiles(root), []);
    });

    it('write (S16): a target that appeared since the plan is left alone, nothing half-written', async (t) => {
      const { root, ep } = setup(t);
      writeFileSync(join(root, 'f'), 'theirs');
      await assert.rejects(
        ep.write(
          'f',
          { type: 'stream', data: chunks('mine') },
          { mtimeNs: MTIME, mode: 0o644 },
          ABSENT,
        ),
        ChangedDuringSync,
      );
      assert.equal(readFileSync(join(root, 'f'), 'utf8'), 'theirs');
      assert.deepEqual(tempFiles(root), []);
    });

    it('write (S7): replacing keeps the old version in the trash; a stale expectation is refused', async (t) => {
      const { root, trash, ep } = setup(t);
      writeFileSync(join(root, 'f'), 'old');
      const seen = (await ep.stat('f')) as Entry;
      await ep.write(
        'f',
        { type: 'stream', data: chunks('new') },
        { mtimeNs: MTIME, mode: 0o644 },
        same(seen),
      );
      assert.equal(readFileSync(join(root, 'f'), 'utf8'), 'new');
      assert.equal(readFileSync(join(trash, 'f'), 'utf8'), 'old');
      // `seen` is now stale: the file was replaced.
      await assert.rejects(
        ep.write(
          'f',
          { type: 'stream', data: chunks('newer') },
          { mtimeNs: MTIME, mode: 0o644 },
          same(seen),
        ),
        ChangedDuringSync,
      );
      assert.equal(readFileSync(join(root, 'f'), 'utf8'), 'new');
    });

    it('symlink: creates and replaces a link without following it', async (t) => {
      const { root, trash, ep } = setup(t);
      await ep.symlink('l', '../outside', { mtimeNs: MTIME, mode: 0 }, ABSENT);
      assert.equal(readlinkSync(join(root, 'l')), '../outside');
      const seen = (await ep.stat('l')) as Entry;
      await ep.symlink('l', 'elsewhere', { mtimeNs: MTIME, mode: 0 }, same(seen));
      assert.equal(readlinkSync(join(root, 'l')), 'elsewhere');
      assert.equal(readlinkSync(join(trash, 'l')), '../outside');
    });

    it('mkdir and setMeta: a directory gets its mode and mtime', async (t) => {
      const { root, ep } = setup(t);
      await ep.mkdir('d', ABSENT);
      await assert.rejects(ep.mkdir('d', ABSENT), ChangedDuringSync);
      await ep.setMeta('d', 'dir', { mtimeNs: MTIME, mode: 0o750 }, ANY_DIR);
      const st = lstatSync(join(root, 'd'), { bigint: true });
      assert.equal(Number(st.mode & 0o7777n), 0o750);
      assert.equal(st.mtimeNs / 1000n, MTIME / 1000n);
    });

    it('remove: a file goes to the trash; a stale expectation and a non-empty directory are refused', async (t) => {
      const { root, trash, ep } = setup(t);
      writeFileSync(join(root, 'f'), 'keep me');
      const seen = (await ep.stat('f')) as Entry;
      writeFileSync(join(root, 'g'), 'x');
      const g = (await ep.stat('g')) as Entry;
      writeFileSync(join(root, 'g'), 'changed!');
      await assert.rejects(ep.remove('g', same(g)), ChangedDuringSync);
      assert.equal(readFileSync(join(root, 'g'), 'utf8'), 'changed!');
      await ep.remove('f', same(seen));
      assert.equal(existsSync(join(root, 'f')), false);
      assert.equal(readFileSync(join(trash, 'f'), 'utf8'), 'keep me');
      mkdirSync(join(root, 'd'));
      writeFileSync(join(root, 'd', 'x'), 'x');
      await assert.rejects(ep.remove('d', ANY_DIR), { code: 'ENOTEMPTY' });
      assert.equal(readFileSync(join(root, 'd', 'x'), 'utf8'), 'x');
    });

    it('hash: equal content, equal hash; a file changed since it was seen is refused', async (t) => {
      const { root, ep } = setup(t);
      writeFileSync(join(root, 'a'), 'same bytes');
      writeFileSync(join(root, 'b'), 'same bytes');
      writeFileSync(join(root, 'c'), 'other');
      const [a, b, c] = (await ep.list('')).entries as [Entry, Entry, Entry];
      const ha = await ep.hash('a', a);
      assert.match(ha, /^[0-9a-f]{32}$/);
      assert.equal(await ep.hash('b', b), ha);
      assert.notEqual(await ep.hash('c', c), ha);
      writeFileSync(join(root, 'a'), 'different length');
      await assert.rejects(ep.hash('a', a), ChangedDuringSync);
    });

    it('hash: the xxh3-128 of the bytes, as hash-wasm computes it (native or not)', async (t) => {
      const { root, ep } = setup(t);
      writeFileSync(join(root, 'a'), 'same bytes');
      const [a] = (await ep.list('')).entries as [Entry];
      assert.equal(await ep.hash('a', a), await xxhash128('same bytes'));
    });

    it('read: yields the bytes of the file it was asked for', async (t) => {
      const { root, ep } = setup(t);
      writeFileSync(join(root, 'f'), 'x'.repeat(3_000_000));
      const e = (await ep.stat('f')) as Entry;
      let total = 0;
      for await (const chunk of ep.read('f', e)) total += chunk.length;
      assert.equal(total, 3_000_000);
    });

    it('walkAhead: listings answered from the background walk equal direct listings', async (t) => {
      const { root, ep } = setup(t);
      for (const d of ['a', 'a/b', 'c']) mkdirSync(join(root, d));
      for (const f of ['a/1', 'a/b/2', 'c/3', '4']) writeFileSync(join(root, f), f);
      const direct = await Promise.all(['', 'a', 'a/b', 'c'].map((d) => ep.list(d)));
      const walker = make(root, undefined);
      walker.walkAhead?.({ rules: [], ignoreFileText: '' });
      const ahead = await Promise.all(['', 'a', 'a/b', 'c'].map((d) => walker.list(d)));
      await walker.close();
      assert.deepEqual(ahead, direct);
    });
  });
}
