/**
 * Generators for the property tests on real directories (properties.test.ts): random trees of
 * files, directories and symlinks with random metadata, the "B before" state derived from
 * them, and the code that writes a tree to disk with nanosecond mtimes.
 */
import { type ChildProcessByStdio, spawn, spawnSync } from 'node:child_process';
import { chmodSync, lutimesSync, mkdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import type { Readable, Writable } from 'node:stream';
import fc from 'fast-check';

export interface FileNode {
  kind: 'file';
  /** The bytes, one char per byte (latin1), as readTree reports them. */
  content: string;
  mode: number;
  mtimeNs: bigint;
}

export interface LinkNode {
  kind: 'symlink';
  target: string;
  mtimeNs: bigint;
}

export interface DirNode {
  kind: 'dir';
  mode: number;
  mtimeNs: bigint;
  /** Unique names, in generation order. */
  children: [string, Node][];
}

export type Node = FileNode | LinkNode | DirNode;

/**
 * Few names, so that A and B collide often. 'é' precomposed and decomposed are two names on
 * Linux; '😀' sorts differently in UTF-8 and UTF-16; 'A' and 'a' differ only by case.
 */
export const NAMES = ['a', 'b', 'A', 'é', 'e\u0301', '日本', '😀', 'a b'] as const;
export const FILE_MODES = [0o644, 0o600, 0o755, 0o444] as const;
export const DIR_MODES = [0o755, 0o700, 0o555] as const;
/** Relative link texts: some resolve to files or directories of the tree, some dangle. */
export const TARGETS = ['a', 'b', '日本', 'a/b', '../a', '..', '.', 'missing', 'é/😀', 'A/'];
/** Contents (UTF-8 text, stored as latin1 bytes). 'x' and 'y' have one size: only bytes differ. */
const CONTENTS = ['', 'x', 'y', 'xy', 'hello\n', 'é', '日本語', '\u0000\u00ff'];

const latin1 = (s: string) => Buffer.from(s, 'utf8').toString('latin1');

/**
 * Random nanoseconds in the past: mostly 2000-01-01 .. 2023-11-14, sometimes before 1970
 * (1906 .. 1969: negative times, which old archives and broken tools do leave behind).
 */
export const mtimeArb = fc.oneof(
  {
    arbitrary: fc.bigInt({ min: 946_684_800_000_000_000n, max: 1_700_000_000_999_999_999n }),
    weight: 19,
  },
  { arbitrary: fc.bigInt({ min: -2_000_000_000_000_000_000n, max: -1n }), weight: 1 },
);

const nameArb = fc.constantFrom(...NAMES);
const contentArb = fc.oneof(
  fc.constantFrom(...CONTENTS).map(latin1),
  fc.uint8Array({ maxLength: 12 }).map((u) => Buffer.from(u).toString('latin1')),
);

const fileArb: fc.Arbitrary<Node> = fc.record({
  kind: fc.constant('file' as const),
  content: contentArb,
  mode: fc.constantFrom(...FILE_MODES),
  mtimeNs: mtimeArb,
});

const linkArb: fc.Arbitrary<Node> = fc.record({
  kind: fc.constant('symlink' as const),
  target: fc.constantFrom(...TARGETS),
  mtimeNs: mtimeArb,
});

const MAX_ENTRIES = 25;

const { dir: dirArb } = fc.letrec<{ node: Node; dir: DirNode }>((tie) => ({
  node: fc.oneof({ maxDepth: 3, depthSize: 'small' }, fileArb, linkArb, tie('dir')),
  dir: fc.record({
    kind: fc.constant('dir' as const),
    mode: fc.constantFrom(...DIR_MODES),
    mtimeNs: mtimeArb,
    children: fc.uniqueArray(fc.tuple(nameArb, tie('node')), {
      maxLength: 6,
      selector: ([n]) => n,
    }),
  }),
}));

/** A root directory holding 0..25 entries, at most 3 directories deep. */
export const treeArb: fc.Arbitrary<DirNode> = dirArb.map((d) => prune(d, MAX_ENTRIES));

/** Keeps the first `max` entries of a tree in depth-first order (any node shape with kinds). */
export function prune<D extends { kind: 'dir'; children: [string, { kind: string }][] }>(
  root: D,
  max: number,
): D {
  let left = max;
  const rec = (d: D): D => {
    const children: D['children'] = [];
    for (const [name, n] of d.children) {
      if (left === 0) break;
      left--;
      children.push([name, n.kind === 'dir' ? rec(n as D) : n]);
    }
    return { ...d, children };
  };
  return rec(root);
}

export type BHow = 'absent' | 'empty' | 'random' | 'mutation';

export interface Case {
  a: DirNode;
  /** undefined: B does not exist before the run. */
  b: DirNode | undefined;
  bHow: BHow;
  mode: 'mirror' | 'replica';
  /** --checksum; only with it does B hold same-size, same-mtime edits (see mutate). */
  checksum: boolean;
  /** Writes at once (--concurrency). */
  concurrency: number;
  /** Walker and copy threads (one case in eight: a thread costs ~60 ms to start). */
  workers: boolean;
}

const bHowArb = fc.oneof(
  { arbitrary: fc.constant<BHow>('mutation'), weight: 6 },
  { arbitrary: fc.constant<BHow>('random'), weight: 2 },
  { arbitrary: fc.constant<BHow>('empty'), weight: 1 },
  { arbitrary: fc.constant<BHow>('absent'), weight: 1 },
);

/** A source tree A and a "B before": absent, empty, unrelated, or A mutated. */
export const caseArb: fc.Arbitrary<Case> = fc
  .record({
    a: treeArb,
    c: treeArb,
    picks: fc.array(fc.nat({ max: 9999 }), { minLength: 1, maxLength: 40 }),
    bHow: bHowArb,
    mode: fc.constantFrom<'mirror' | 'replica'>('mirror', 'replica'),
    checksum: fc.boolean(),
    concurrency: fc.constantFrom(1, 3, 32),
    workers: fc.oneof(
      { arbitrary: fc.constant(false), weight: 7 },
      { arbitrary: fc.constant(true), weight: 1 },
    ),
  })
  .map(({ a, c, picks, bHow, mode, checksum, concurrency, workers }): Case => {
    let b: DirNode | undefined;
    switch (bHow) {
      case 'absent':
        b = undefined;
        break;
      case 'empty':
        b = { ...c, children: [] };
        break;
      case 'random':
        b = c;
        break;
      case 'mutation':
        b = mutate(a, c, picks, checksum);
        break;
    }
    const out: Case = { a, b, bHow, mode, checksum, concurrency, workers };
    Object.defineProperty(out, fc.toStringMethod, { value: () => describeCase(out) });
    return out;
  });

/** mtime shifts of a mutation: all beyond the 1 µs the engine tolerates. */
const SHIFTS = [
  2_000n,
  999_999n,
  1_000_000_000n,
  3_600_000_000_123n,
  -86_400_000_000_007n,
  31_536_000_123_456_789n,
];

/**
 * B made from A, entry by entry as `picks` say: kept as is (the most likely), deleted, content
 * changed (and its mtime: a same-size edit with the same mtime is invisible to the quick check,
 * so it comes only with `checksum`), mtime only, mode only, kind changed (file <-> dir <->
 * symlink, a new directory taking C's subtree when C has one there), plus C's entries that A
 * lacks as extras.
 */
export function mutate(
  a: DirNode,
  c: DirNode,
  picks: readonly number[],
  checksum: boolean,
): DirNode {
  let k = 0;
  const next = () => picks[k++ % picks.length] as number;
  const shift = (t: bigint) => t + (SHIFTS[next() % SHIFTS.length] as bigint);
  const otherFileMode = (m: number) => otherOf(FILE_MODES, m, next());
  const otherDirMode = (m: number) => otherOf(DIR_MODES, m, next());
  const otherContent = (s: string) => {
    const n = latin1(CONTENTS[next() % CONTENTS.length] as string);
    return n === s ? `${s}z` : n;
  };
  const emptyDir = (t: bigint): DirNode => ({
    kind: 'dir',
    mode: DIR_MODES[next() % DIR_MODES.length] as number,
    mtimeNs: t,
    children: [],
  });

  const dir = (x: DirNode, y: DirNode | undefined, self: Omit<DirNode, 'children'>): DirNode => {
    const children: [string, Node][] = [];
    for (const [name, n] of x.children) {
      const yn = y?.children.find(([m]) => m === name)?.[1];
      const out = entry(n, yn?.kind === 'dir' ? yn : undefined);
      if (out) children.push([name, out]);
    }
    for (const [name, n] of y?.children ?? []) {
      if (x.children.some(([m]) => m === name)) continue;
      if (next() % 3 === 0) children.push([name, n]);
    }
    return { ...self, children };
  };

  const entry = (n: Node, y: DirNode | undefined): Node | undefined => {
    const r = next() % 10;
    if (r < 4) return n.kind === 'dir' ? dir(n, y, n) : n;
    if (r === 4) return undefined;
    switch (n.kind) {
      case 'file':
        switch (r) {
          case 5:
            return { ...n, content: otherContent(n.content), mtimeNs: shift(n.mtimeNs) };
          case 6:
            return { ...n, mtimeNs: shift(n.mtimeNs) };
          case 7:
            return { ...n, mode: otherFileMode(n.mode) };
          case 8:
            return next() % 2 === 0
              ? (y ?? emptyDir(shift(n.mtimeNs)))
              : { kind: 'symlink', target: n.content === '' ? 'a' : 'b', mtimeNs: n.mtimeNs };
          default:
            // Same size, same mtime, other bytes: only --checksum can tell.
            if (checksum && n.content !== '') return { ...n, content: flipLast(n.content) };
            return { ...n, mode: otherFileMode(n.mode), mtimeNs: shift(n.mtimeNs) };
        }
      case 'symlink':
        switch (r) {
          case 5:
            return { ...n, target: otherOf(TARGETS, n.target, next()) };
          case 6:
            return { ...n, mtimeNs: shift(n.mtimeNs) };
          case 7:
            return { ...n, target: otherOf(TARGETS, n.target, next()), mtimeNs: shift(n.mtimeNs) };
          case 8:
            return y ?? emptyDir(n.mtimeNs);
          default:
            return { kind: 'file', content: latin1(n.target), mode: 0o644, mtimeNs: n.mtimeNs };
        }
      case 'dir':
        switch (r) {
          case 5:
            return dir(n, y, { ...n, mtimeNs: shift(n.mtimeNs) });
          case 6:
            return dir(n, y, { ...n, mode: otherDirMode(n.mode) });
          case 7:
            return { kind: 'file', content: otherContent(''), mode: 0o644, mtimeNs: n.mtimeNs };
          case 8:
            return {
              kind: 'symlink',
              target: TARGETS[next() % TARGETS.length] as string,
              mtimeNs: n.mtimeNs,
            };
          default:
            // An unrelated directory of C in its place, or A's with shifted time and mode.
            return y ?? dir(n, y, { ...n, mode: otherDirMode(n.mode), mtimeNs: shift(n.mtimeNs) });
        }
    }
  };

  const rootPick = next() % 4;
  const root =
    rootPick === 2
      ? { ...a, mtimeNs: shift(a.mtimeNs) }
      : rootPick === 3
        ? { ...a, mode: otherDirMode(a.mode) }
        : a;
  return dir(a, c, root);
}

function otherOf<T>(values: readonly T[], v: T, pick: number): T {
  const others = values.filter((x) => x !== v);
  return others[pick % others.length] as T;
}

function flipLast(s: string): string {
  const last = s.charCodeAt(s.length - 1);
  return s.slice(0, -1) + String.fromCharCode((last + 1) % 256);
}

/** One line per entry, for counterexamples: path, kind, mode, mtime (s.ns), content or target. */
export function describeTree(root: DirNode | undefined): string {
  if (!root) return '  (absent)';
  const lines = [`  . dir ${oct(root.mode)} @${time(root.mtimeNs)}`];
  const rec = (d: DirNode, rel: string) => {
    for (const [name, n] of d.children) {
      const p = rel === '' ? name : `${rel}/${name}`;
      const shown = JSON.stringify(p);
      if (n.kind === 'dir') {
        lines.push(`  ${shown}/ dir ${oct(n.mode)} @${time(n.mtimeNs)}`);
        rec(n, p);
      } else if (n.kind === 'file') {
        const bytes = JSON.stringify(Buffer.from(n.content, 'latin1').toString('utf8'));
        lines.push(`  ${shown} file ${oct(n.mode)} @${time(n.mtimeNs)} ${bytes}`);
      } else {
        lines.push(`  ${shown} symlink @${time(n.mtimeNs)} -> ${JSON.stringify(n.target)}`);
      }
    }
  };
  rec(root, '');
  return lines.join('\n');
}

export function describeCase(c: Case): string {
  return [
    `mode=${c.mode} checksum=${c.checksum} concurrency=${c.concurrency} workers=${c.workers} B=${c.bHow}`,
    'A:',
    describeTree(c.a),
    'B before:',
    describeTree(c.b),
  ].join('\n');
}

const oct = (m: number) => `0o${m.toString(8)}`;
/** Seconds.nanoseconds since the epoch, sign first: -0.000001500 is 1.5 µs before it. */
const time = (ns: bigint) => {
  const abs = ns < 0n ? -ns : ns;
  const frac = (abs % 1_000_000_000n).toString().padStart(9, '0');
  return `${ns < 0n ? '-' : ''}${abs / 1_000_000_000n}.${frac}`;
};

type Helper = ChildProcessByStdio<Writable, Readable, null>;

/**
 * Sets mtimes to the nanosecond. Node's utimes takes a double of seconds and keeps whole
 * microseconds, so a persistent python3 does it (os.utime with ns, not following links);
 * without python3, lutimes to the microsecond (`nanoseconds` says which).
 */

export class TimeSetter {
  private child: Helper | undefined;
  private waiting: ((line: string) => void)[] = [];
  readonly nanoseconds: boolean;

  constructor() {
    this.nanoseconds = spawnSync('python3', ['-c', 'import os'], { stdio: 'ignore' }).status === 0;
  }

  async set(items: readonly [string, bigint][]): Promise<void> {
    if (items.length === 0) return;
    if (!this.nanoseconds) {
      for (const [p, ns] of items) {
        // libuv truncates toward zero: aim at the middle of the microsecond, away from zero. A
        // string, because Node turns a negative number of seconds into the current time.
        const s = String(Number(ns / 1000n) / 1e6 + (ns < 0n ? -5e-7 : 5e-7));
        lutimesSync(p, s, s);
      }
      return;
    }
    const child = this.start();
    const line = `[${items.map(([p, ns]) => `[${JSON.stringify(p)},${ns}]`).join(',')}]\n`;
    const answer = new Promise<string>((resolve) => this.waiting.push(resolve));
    child.stdin.write(line);
    const got = await answer;
    if (got !== 'ok') throw new Error(`setting mtimes failed: ${got}`);
  }

  close(): void {
    this.child?.stdin.end();
    this.child = undefined;
  }

  private start(): Helper {
    if (this.child) return this.child;
    const script = [
      'import json, os, sys',
      'for line in sys.stdin:',
      '    try:',
      '        for p, ns in json.loads(line):',
      '            os.utime(p, ns=(ns, ns), follow_symlinks=False)',
      "        sys.stdout.write('ok\\n')",
      '    except Exception as e:',
      "        sys.stdout.write(repr(e).replace('\\n', ' ') + '\\n')",
      '    sys.stdout.flush()',
    ].join('\n');
    const child = spawn('python3', ['-c', script], { stdio: ['pipe', 'pipe', 'inherit'] });
    createInterface({ input: child.stdout }).on('line', (l) => this.waiting.shift()?.(l));
    child.on('exit', (code) => {
      for (const w of this.waiting.splice(0)) w(`python3 exited with ${code}`);
    });
    this.child = child;
    return this.child;
  }
}

/** Writes `tree` at `root` (created; it may exist, empty): contents, modes, then all mtimes. */
export async function materialize(root: string, tree: DirNode, times: TimeSetter): Promise<void> {
  const stamps: [string, bigint][] = [];
  const modes: [string, number][] = [];
  const rec = (abs: string, d: DirNode) => {
    mkdirSync(abs, { recursive: true });
    for (const [name, n] of d.children) {
      const p = join(abs, name);
      switch (n.kind) {
        case 'file':
          writeFileSync(p, Buffer.from(n.content, 'latin1'));
          chmodSync(p, n.mode);
          break;
        case 'symlink':
          symlinkSync(n.target, p);
          break;
        case 'dir':
          rec(p, n);
          break;
      }
      stamps.push([p, n.mtimeNs]);
    }
    // After its children: a 0o555 directory is no obstacle to root, but would be to others.
    modes.push([abs, d.mode]);
  };
  rec(root, tree);
  for (const [p, m] of modes) chmodSync(p, m);
  stamps.push([root, tree.mtimeNs]);
  await times.set(stamps);
}
