import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { CompareOptions } from '../../src/core/compare.ts';
import type { Entry } from '../../src/core/entry.ts';
import {
  type Descend,
  diffOneWay,
  type OneWayInput,
  type OneWayMode,
} from '../../src/core/oneway.ts';
import { basename, isWithin, type RelPath } from '../../src/core/path.ts';
import { Phase } from '../../src/core/plan.ts';
import { CHECKSUM, dir, file, link, ns, QUICK, show, sorted } from './fixtures.ts';

const BOTH: readonly OneWayMode[] = ['replica', 'mirror'];
const MIRROR: readonly OneWayMode[] = ['mirror'];
const REPLICA: readonly OneWayMode[] = ['replica'];

/** The directory's own times, restored after something was written into it. */
const TIMES = 'DirTimes set-meta . dir-times dir';
const WINDOW_2S: CompareOptions = { mtimeToleranceNs: ns(2), checksum: false };

interface Case {
  name: string;
  modes: readonly OneWayMode[];
  /** The directory being decided; '' (the root) unless given. */
  dir?: RelPath;
  /** Children on each side; undefined: the side does not have the directory. */
  src: Entry[] | undefined;
  dst: Entry[] | undefined;
  /** The directory itself; by default an equal `dir()` on each side that has it. */
  srcSelf?: Entry | null;
  dstSelf?: Entry | null;
  protect?: string[];
  removing?: 'extra' | 'replaced';
  opts?: CompareOptions;
  /** `show()` of every operation, in any order. */
  ops?: string[];
  descend?: Descend[];
  needsHash?: string[];
  /** `code path side` of every problem. */
  problems?: string[];
}

const cases: Case[] = [
  // New on A
  {
    name: 'new file on A is copied to B',
    modes: BOTH,
    src: [file('f')],
    dst: [],
    ops: ['Write copy f new absent', TIMES],
  },
  {
    name: 'new directory on A is made on B, then walked on A only',
    modes: BOTH,
    src: [dir('d')],
    dst: [],
    ops: ['Write mkdir d new absent', TIMES],
    descend: [{ name: 'd', src: true, dst: false }],
  },
  {
    name: 'new symlink on A is created on B',
    modes: BOTH,
    src: [link('l', 'target')],
    dst: [],
    ops: ['Write copy l new absent', TIMES],
  },

  // Modified files
  {
    name: 'file whose size differs is replaced',
    modes: BOTH,
    src: [file('f', { size: 2 })],
    dst: [file('f', { size: 1 })],
    ops: ['Write copy f modified same', TIMES],
  },
  {
    name: 'equal size, other mtime, no hashes yet: hash both and ask again; nothing written',
    modes: BOTH,
    src: [file('f', { mtime: 2 })],
    dst: [file('f', { mtime: 1 })],
    needsHash: ['f'],
  },
  {
    name: 'equal size, other mtime, different hashes: replaced',
    modes: BOTH,
    src: [file('f', { mtime: 2, hash: 'h1' })],
    dst: [file('f', { mtime: 1, hash: 'h2' })],
    ops: ['Write copy f modified same', TIMES],
  },
  {
    name: 'touched on A only (equal hashes): set-meta, no copy (S3)',
    modes: BOTH,
    src: [file('f', { mtime: 2, hash: 'h' })],
    dst: [file('f', { mtime: 1, hash: 'h' })],
    ops: ['Write set-meta f metadata same', TIMES],
  },
  {
    name: 'mode-only change: set-meta',
    modes: BOTH,
    src: [file('f', { mode: 0o755 })],
    dst: [file('f', { mode: 0o644 })],
    ops: ['Write set-meta f metadata same', TIMES],
  },
  {
    name: 'identical file: nothing (S8)',
    modes: BOTH,
    src: [file('f', { hash: 'h' })],
    dst: [file('f', { hash: 'h' })],
  },
  {
    name: 'needs-hash beside a new file: the new file is copied, the other waits for hashes',
    modes: BOTH,
    src: [file('a', { mtime: 2 }), file('b')],
    dst: [file('a', { mtime: 1 })],
    ops: ['Write copy b new absent', TIMES],
    needsHash: ['a'],
  },

  // Symlinks
  {
    name: 'symlink whose target changed is replaced',
    modes: BOTH,
    src: [link('l', 'new')],
    dst: [link('l', 'old')],
    ops: ['Write copy l modified same', TIMES],
  },
  {
    name: 'symlink with another mtime only: set-meta',
    modes: BOTH,
    src: [link('l', 't', { mtime: 2 })],
    dst: [link('l', 't', { mtime: 1 })],
    ops: ['Write set-meta l metadata same', TIMES],
  },
  {
    name: 'identical symlink: nothing',
    modes: BOTH,
    src: [link('l', 't')],
    dst: [link('l', 't')],
  },

  // Directories
  {
    name: 'identical directory: walked on both sides, nothing else',
    modes: BOTH,
    src: [dir('d')],
    dst: [dir('d')],
    descend: [{ name: 'd', src: true, dst: true }],
  },
  {
    name: 'directory with another mtime: its times set after its contents, and walked on both',
    modes: BOTH,
    src: [dir('d', { mtime: 2 })],
    dst: [dir('d', { mtime: 1 })],
    // Setting a child's times does not touch this directory: no dir-times for '.'.
    ops: ['DirTimes set-meta d metadata dir'],
    descend: [{ name: 'd', src: true, dst: true }],
  },
  {
    name: 'directory with another mode: set-meta after its contents',
    modes: BOTH,
    src: [dir('d', { mode: 0o700 })],
    dst: [dir('d', { mode: 0o755 })],
    ops: ['DirTimes set-meta d metadata dir'],
    descend: [{ name: 'd', src: true, dst: true }],
  },

  // Kind changes
  {
    name: 'file on B where A has a directory: cleared, then a directory made',
    modes: BOTH,
    src: [dir('x')],
    dst: [file('x')],
    ops: ['Clear delete x replaced same', 'Write mkdir x kind-changed absent', TIMES],
    descend: [{ name: 'x', src: true, dst: false }],
  },
  {
    name: 'symlink on B where A has a directory: cleared, then a directory made',
    modes: BOTH,
    src: [dir('x')],
    dst: [link('x', 'elsewhere')],
    ops: ['Clear delete x replaced same', 'Write mkdir x kind-changed absent', TIMES],
    descend: [{ name: 'x', src: true, dst: false }],
  },
  {
    name: 'directory on B where A has a file: mirror clears the subtree first, then copies',
    modes: MIRROR,
    src: [file('x')],
    dst: [dir('x')],
    ops: ['Clear delete x replaced same', 'Write copy x kind-changed absent', TIMES],
    descend: [{ name: 'x', src: false, dst: true, removing: 'replaced' }],
  },
  {
    name: 'directory on B where A has a file: replica reports a kind conflict, deletes nothing',
    modes: REPLICA,
    src: [file('x')],
    dst: [dir('x')],
    problems: ['kind-conflict x B'],
  },
  {
    name: 'directory on B where A has a symlink: mirror clears the subtree, then links',
    modes: MIRROR,
    src: [link('x', 't')],
    dst: [dir('x')],
    ops: ['Clear delete x replaced same', 'Write copy x kind-changed absent', TIMES],
    descend: [{ name: 'x', src: false, dst: true, removing: 'replaced' }],
  },
  {
    name: 'directory on B where A has a symlink: replica reports a kind conflict',
    modes: REPLICA,
    src: [link('x', 't')],
    dst: [dir('x')],
    problems: ['kind-conflict x B'],
  },
  {
    name: 'symlink on B where A has a file: replaced in place',
    modes: BOTH,
    src: [file('x')],
    dst: [link('x', 't')],
    ops: ['Write copy x modified same', TIMES],
  },
  {
    name: 'file on B where A has a symlink: replaced in place',
    modes: BOTH,
    src: [link('x', 't')],
    dst: [file('x')],
    ops: ['Write copy x modified same', TIMES],
  },

  // Extras on B (S25)
  {
    name: 'file only on B is deleted in mirror (S25)',
    modes: MIRROR,
    src: [],
    dst: [file('x')],
    ops: ['Delete delete x extra same', TIMES],
  },
  {
    name: 'file only on B is kept in replica (S25)',
    modes: REPLICA,
    src: [],
    dst: [file('x')],
  },
  {
    name: 'symlink only on B is deleted in mirror (S25)',
    modes: MIRROR,
    src: [],
    dst: [link('x', 't')],
    ops: ['Delete delete x extra same', TIMES],
  },
  {
    name: 'directory only on B: mirror deletes it and walks it to delete its contents first',
    modes: MIRROR,
    src: [],
    dst: [dir('x')],
    ops: ['Delete delete x extra same', TIMES],
    descend: [{ name: 'x', src: false, dst: true, removing: 'extra' }],
  },
  {
    name: 'directory only on B is neither deleted nor walked in replica (S25)',
    modes: REPLICA,
    src: [],
    dst: [dir('x')],
  },
  {
    name: 'B holds only extras and A is empty: mirror empties B',
    modes: MIRROR,
    src: [],
    dst: [file('a'), file('b')],
    ops: ['Delete delete a extra same', 'Delete delete b extra same', TIMES],
  },

  // Unreadable on A (S17)
  {
    name: 'a name unreadable on A is never deleted on B in mirror (S17)',
    modes: MIRROR,
    src: [file('ok')],
    dst: [file('ok'), file('secret'), dir('sub')],
    protect: ['secret', 'sub'],
  },
  {
    name: 'an unprotected extra beside a protected one is still deleted (S17)',
    modes: MIRROR,
    src: [],
    dst: [file('junk'), file('secret')],
    protect: ['secret'],
    ops: ['Delete delete junk extra same', TIMES],
  },

  // Subtrees being removed
  {
    name: 'removing an extra subtree: every entry goes in phase Delete, directories walked too',
    modes: MIRROR,
    dir: 'x',
    src: undefined,
    dst: [file('a'), dir('d'), link('l', 't')],
    removing: 'extra',
    ops: [
      'Delete delete x/a extra same',
      'Delete delete x/d extra same',
      'Delete delete x/l extra same',
    ],
    descend: [{ name: 'd', src: false, dst: true, removing: 'extra' }],
  },
  {
    name: 'a target directory closed to its owner (no u+w) is opened before anything is written into it; DirTimes closes it',
    modes: BOTH,
    dir: 'x',
    src: [file('f')],
    dst: [],
    srcSelf: dir('x', { mode: 0o555 }),
    dstSelf: dir('x', { mode: 0o555 }),
    ops: [
      'Write set-meta x dir-times dir',
      'Write copy x/f new absent',
      'DirTimes set-meta x dir-times dir',
    ],
  },
  {
    name: 'a closed target directory with nothing to write inside is left closed',
    modes: BOTH,
    dir: 'x',
    src: [file('f')],
    dst: [file('f', { mode: 0o600 })],
    srcSelf: dir('x', { mode: 0o555 }),
    dstSelf: dir('x', { mode: 0o555 }),
    ops: ['Write set-meta x/f metadata same', 'DirTimes set-meta x dir-times dir'],
  },
  {
    name: 'a closed extra directory is opened before its entries are deleted',
    modes: MIRROR,
    dir: 'x',
    src: undefined,
    dst: [file('a')],
    srcSelf: null,
    dstSelf: dir('x', { mode: 0o500 }),
    removing: 'extra',
    ops: ['Write set-meta x dir-times dir', 'Delete delete x/a extra same'],
  },
  {
    name: 'a closed directory on B that becomes a file: opened in phase Clear, last of its output (orderPlan runs Clear in reverse), so before its entries go',
    modes: BOTH,
    dir: 'x',
    src: undefined,
    dst: [file('a')],
    srcSelf: null,
    dstSelf: dir('x', { mode: 0o555 }),
    removing: 'replaced',
    ops: ['Clear delete x/a replaced same', 'Clear set-meta x dir-times dir'],
  },
  {
    name: 'a closed directory whose subdirectory becomes a file is opened in phase Clear, before that subdirectory goes',
    modes: MIRROR,
    dir: 'x',
    src: [file('k')],
    dst: [dir('k')],
    srcSelf: dir('x', { mode: 0o555 }),
    dstSelf: dir('x', { mode: 0o555 }),
    ops: [
      'Clear delete x/k replaced same',
      'Write copy x/k kind-changed absent',
      'Clear set-meta x dir-times dir',
      'DirTimes set-meta x dir-times dir',
    ],
    descend: [{ name: 'k', src: false, dst: true, removing: 'replaced' }],
  },
  {
    name: 'removing a replaced subtree: every entry goes in phase Clear, before the writes',
    modes: BOTH,
    dir: 'x',
    src: undefined,
    dst: [dir('d'), file('f')],
    removing: 'replaced',
    ops: ['Clear delete x/d replaced same', 'Clear delete x/f replaced same'],
    descend: [{ name: 'd', src: false, dst: true, removing: 'replaced' }],
  },
  {
    name: 'removing an empty directory: nothing more (the parent deletes it)',
    modes: MIRROR,
    dir: 'x',
    src: undefined,
    dst: [],
    removing: 'extra',
  },
  {
    name: 'removing ignores protected names: the source side was not listed',
    modes: MIRROR,
    dir: 'x',
    src: undefined,
    dst: [file('a')],
    protect: ['a'],
    removing: 'extra',
    ops: ['Delete delete x/a extra same'],
  },

  // --checksum
  {
    name: '--checksum: equal size and mtime are still hashed',
    modes: BOTH,
    opts: CHECKSUM,
    src: [file('f')],
    dst: [file('f')],
    needsHash: ['f'],
  },
  {
    name: '--checksum: a hash on one side only is not enough',
    modes: BOTH,
    opts: CHECKSUM,
    src: [file('f', { hash: 'h' })],
    dst: [file('f')],
    needsHash: ['f'],
  },
  {
    name: '--checksum: different hashes at equal size and mtime: replaced',
    modes: BOTH,
    opts: CHECKSUM,
    src: [file('f', { hash: 'h1' })],
    dst: [file('f', { hash: 'h2' })],
    ops: ['Write copy f modified same', TIMES],
  },
  {
    name: '--checksum: equal hashes: nothing',
    modes: BOTH,
    opts: CHECKSUM,
    src: [file('f', { hash: 'h' })],
    dst: [file('f', { hash: 'h' })],
  },
  {
    name: '--checksum: equal hashes, other mtime: set-meta (S3)',
    modes: BOTH,
    opts: CHECKSUM,
    src: [file('f', { mtime: 2, hash: 'h' })],
    dst: [file('f', { mtime: 1, hash: 'h' })],
    ops: ['Write set-meta f metadata same', TIMES],
  },
  {
    name: '--checksum: sizes differ: replaced without hashing',
    modes: BOTH,
    opts: CHECKSUM,
    src: [file('f', { size: 5 })],
    dst: [file('f', { size: 6 })],
    ops: ['Write copy f modified same', TIMES],
  },
  {
    name: 'without --checksum, equal size and mtime are trusted though hashes differ',
    modes: BOTH,
    src: [file('f', { hash: 'h1' })],
    dst: [file('f', { hash: 'h2' })],
  },

  // Modify window (mtimeToleranceNs)
  {
    name: 'file mtime within the modify window: same',
    modes: BOTH,
    opts: WINDOW_2S,
    src: [file('f', { mtime: 102 })],
    dst: [file('f', { mtime: 100 })],
  },
  {
    name: 'file mtime 1 ns beyond the modify window: the hash decides',
    modes: BOTH,
    opts: WINDOW_2S,
    src: [file('f', { mtime: ns(102) + 1n })],
    dst: [file('f', { mtime: 100 })],
    needsHash: ['f'],
  },
  {
    name: 'directory mtime within the modify window: walked, no set-meta',
    modes: BOTH,
    opts: WINDOW_2S,
    src: [dir('d', { mtime: 99 })],
    dst: [dir('d', { mtime: 100 })],
    descend: [{ name: 'd', src: true, dst: true }],
  },
  {
    name: 'symlink mtime within the modify window: same',
    modes: BOTH,
    opts: WINDOW_2S,
    src: [link('l', 't', { mtime: 101 })],
    dst: [link('l', 't', { mtime: 100 })],
  },

  // The directory's own times (dir-times)
  {
    name: 'a directory just made on B gets its times after its contents',
    modes: BOTH,
    dir: 'd',
    srcSelf: dir('d', { mtime: 5 }),
    dstSelf: null,
    src: [file('f')],
    dst: undefined,
    ops: ['Write copy d/f new absent', 'DirTimes set-meta d dir-times dir'],
  },
  {
    name: 'a directory just made on B and empty still gets its times',
    modes: BOTH,
    dir: 'd',
    srcSelf: dir('d', { mtime: 5 }),
    dstSelf: null,
    src: [],
    dst: undefined,
    ops: ['DirTimes set-meta d dir-times dir'],
  },
  {
    name: 'a root not yet on B gets its times after its contents',
    modes: BOTH,
    dstSelf: null,
    src: [file('f')],
    dst: undefined,
    ops: ['Write copy f new absent', TIMES],
  },
  {
    name: 'nothing changed: no operation at all, a second run plans nothing (S12)',
    modes: BOTH,
    src: [file('f'), dir('d'), link('l', 't')],
    dst: [file('f'), dir('d'), link('l', 't')],
    descend: [{ name: 'd', src: true, dst: true }],
  },
  {
    name: 'a directory whose own times differ leaves them to its parent (no dir-times here)',
    modes: BOTH,
    dir: 'd',
    srcSelf: dir('d', { mtime: 2 }),
    dstSelf: dir('d', { mtime: 1 }),
    src: [file('f')],
    dst: [],
    ops: ['Write copy d/f new absent'],
  },
  {
    name: 'a kind conflict writes nothing, so no dir-times either',
    modes: REPLICA,
    src: [file('x')],
    dst: [dir('x')],
    problems: ['kind-conflict x B'],
  },

  // Paths and descend lists
  {
    name: 'paths are joined below the directory being decided',
    modes: BOTH,
    dir: 'a/b',
    src: [file('f'), dir('s')],
    dst: [],
    ops: [
      'Write copy a/b/f new absent',
      'Write mkdir a/b/s new absent',
      'DirTimes set-meta a/b dir-times dir',
    ],
    descend: [{ name: 's', src: true, dst: false }],
  },
  {
    name: 'descend in mirror: new, both, replaced and extra directories, in name order',
    modes: MIRROR,
    src: [dir('a'), dir('b'), file('c'), dir('e')],
    dst: [dir('b'), dir('c'), dir('d'), dir('e')],
    ops: [
      'Write mkdir a new absent',
      'Clear delete c replaced same',
      'Write copy c kind-changed absent',
      'Delete delete d extra same',
      TIMES,
    ],
    descend: [
      { name: 'a', src: true, dst: false },
      { name: 'b', src: true, dst: true },
      { name: 'c', src: false, dst: true, removing: 'replaced' },
      { name: 'd', src: false, dst: true, removing: 'extra' },
      { name: 'e', src: true, dst: true },
    ],
  },
  {
    name: 'descend in replica: new and both only; the conflict and the extra are left alone',
    modes: REPLICA,
    src: [dir('a'), dir('b'), file('c'), dir('e')],
    dst: [dir('b'), dir('c'), dir('d'), dir('e')],
    ops: ['Write mkdir a new absent', TIMES],
    descend: [
      { name: 'a', src: true, dst: false },
      { name: 'b', src: true, dst: true },
      { name: 'e', src: true, dst: true },
    ],
    problems: ['kind-conflict c B'],
  },

  // Names merge in UTF-8 byte order
  {
    name: 'listings merge in UTF-8 order: Z < a < é < U+FFFD < U+1F600',
    modes: BOTH,
    src: [file('Z'), file('a'), file('é'), file('\uFFFD'), file('\u{1F600}')],
    dst: [file('a'), file('\u{1F600}')],
    ops: [
      'Write copy Z new absent',
      'Write copy é new absent',
      'Write copy \uFFFD new absent',
      TIMES,
    ],
  },
  {
    name: 'an astral name on both sides matches itself beside a BMP extra (UTF-16 order would not)',
    modes: MIRROR,
    src: [file('\u{1F600}')],
    dst: [file('\uFFFD'), file('\u{1F600}')],
    ops: ['Delete delete \uFFFD extra same', TIMES],
  },
];

function inputOf(c: Case, mode: OneWayMode): OneWayInput {
  const dirPath = c.dir ?? '';
  const self = dir(basename(dirPath));
  const srcSelf = c.srcSelf === null ? undefined : (c.srcSelf ?? (c.src ? self : undefined));
  const dstSelf = c.dstSelf === null ? undefined : (c.dstSelf ?? (c.dst ? self : undefined));
  return {
    dir: dirPath,
    srcSelf,
    dstSelf,
    src: c.src && sorted(c.src),
    dst: c.dst && sorted(c.dst),
    protectedNames: new Set(c.protect ?? []),
    mode,
    opts: c.opts ?? QUICK,
    removing: c.removing,
  };
}

describe('diffOneWay', () => {
  for (const c of cases) {
    for (const mode of c.modes) {
      test(`${mode}: ${c.name}`, () => {
        const input = inputOf(c, mode);
        const out = diffOneWay(input);
        const dirPath = input.dir;
        const collate = (xs: readonly string[]) => [...xs].sort();
        assert.deepEqual(collate(out.ops.map(show)), collate(c.ops ?? []));
        assert.deepEqual(out.descend, c.descend ?? []);
        assert.deepEqual(collate(out.needsHash), collate(c.needsHash ?? []));
        assert.deepEqual(
          out.problems.map((p) => `${p.code} ${p.path} ${p.side}`),
          c.problems ?? [],
        );

        // Every operation stays inside the directory, names the very entries it was given
        // (source from A, precondition from B), and replica deletes only to make room (S25).
        for (const op of out.ops) {
          assert.ok(isWithin(op.path, dirPath), `${op.path} is outside ${dirPath}`);
          const name = basename(op.path);
          if (op.reason === 'dir-times' && op.phase !== Phase.DirTimes) {
            // The opening of a closed directory: the model's times, its mode with u+wx.
            const model = (input.srcSelf ?? input.dstSelf) as Entry;
            assert.equal(op.path, dirPath);
            assert.deepEqual(op.source, { ...model, mode: model.mode | 0o300 });
          } else if (op.reason === 'dir-times') {
            assert.equal(op.path, dirPath);
            assert.equal(op.source, input.srcSelf);
          } else if (op.source) {
            assert.equal(
              op.source,
              c.src?.find((e) => e.name === name),
            );
          }
          if (op.pre.type === 'same')
            assert.equal(
              op.pre.entry,
              c.dst?.find((e) => e.name === name),
            );
          if (op.op === 'delete') assert.equal(op.source, undefined);
          if (mode === 'replica' && op.op === 'delete' && !c.removing) {
            assert.equal(op.reason, 'replaced');
            assert.equal(op.phase, Phase.Clear);
          }
        }
      });
    }
  }
});

// The root has no parent to set its metadata: a root that exists on B with other times or
// mode must get them from its own decision, like a root made fresh on B does (dir-times).
describe('diffOneWay: the root directory keeps its own metadata', () => {
  const rootCases: { name: string; srcSelf: Entry; dstSelf: Entry; src: Entry[] }[] = [
    {
      name: 'an existing root with other times gets them back after writes into it',
      srcSelf: dir('', { mtime: 2 }),
      dstSelf: dir('', { mtime: 1 }),
      src: [file('f')],
    },
    {
      name: 'an existing root with another mode gets it, though nothing inside changed',
      srcSelf: dir('', { mode: 0o700 }),
      dstSelf: dir('', { mode: 0o755 }),
      src: [],
    },
  ];
  for (const c of rootCases) {
    for (const mode of BOTH) {
      test(`${mode}: ${c.name}`, () => {
        const out = diffOneWay({
          dir: '',
          srcSelf: c.srcSelf,
          dstSelf: c.dstSelf,
          src: c.src,
          dst: [],
          protectedNames: new Set(),
          mode,
          opts: QUICK,
        });
        const rootMeta = out.ops.filter((o) => o.op === 'set-meta' && o.path === '');
        assert.equal(rootMeta.length, 1, `one set-meta of the root in ${out.ops.map(show)}`);
        assert.equal(rootMeta[0]?.phase, Phase.DirTimes);
        assert.equal(rootMeta[0]?.source, c.srcSelf);
        assert.equal(rootMeta[0]?.pre.type, 'dir');
      });
    }
  }
});
