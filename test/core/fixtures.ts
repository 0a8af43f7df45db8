/**
 * Tiny named entries for the core's table tests: `file('x', { size, mtime, hash })`, `dir('d')`,
 * `link('l', 'target')`. Times are seconds (number) or nanoseconds (bigint); the defaults make
 * two entries built with the same arguments equal, so a case only names what differs.
 */
import type { CompareOptions } from '../../src/core/compare.ts';
import type { Entry } from '../../src/core/entry.ts';
import { compareNames, type RelPath } from '../../src/core/path.ts';
import {
  ABSENT,
  ANY_DIR,
  type Operation,
  type Phase,
  type Reason,
  same,
} from '../../src/core/plan.ts';

/** Seconds as a number, or nanoseconds as a bigint. */
export type Time = number | bigint;

export const ns = (t: Time): bigint => (typeof t === 'bigint' ? t : BigInt(t) * 1_000_000_000n);

interface Props {
  mtime?: Time;
  mode?: number;
}

export function file(name: string, p: Props & { size?: number; hash?: string } = {}): Entry {
  return {
    name,
    kind: 'file',
    size: p.size ?? 1,
    mtimeNs: ns(p.mtime ?? 100),
    ctimeNs: 0n,
    mode: p.mode ?? 0o644,
    ino: 0n,
    ...(p.hash === undefined ? {} : { hash: p.hash }),
  };
}

export function dir(name: string, p: Props = {}): Entry {
  return {
    name,
    kind: 'dir',
    size: 0,
    mtimeNs: ns(p.mtime ?? 100),
    ctimeNs: 0n,
    mode: p.mode ?? 0o755,
    ino: 0n,
  };
}

export function link(name: string, target: string, p: { mtime?: Time } = {}): Entry {
  return {
    name,
    kind: 'symlink',
    size: 0,
    mtimeNs: ns(p.mtime ?? 100),
    ctimeNs: 0n,
    mode: 0,
    ino: 0n,
    target,
  };
}

/** A listing as the engine hands it over: sorted by name in UTF-8 byte order. */
export const sorted = (entries: readonly Entry[]): Entry[] =>
  [...entries].sort((a, b) => compareNames(a.name, b.name));

/** rsync's quick check: size + mtime, exact times. */
export const QUICK: CompareOptions = { mtimeToleranceNs: 0n, checksum: false };
export const CHECKSUM: CompareOptions = { mtimeToleranceNs: 0n, checksum: true };

const PHASE_NAMES = ['Clear', 'Write', 'Delete', 'DirTimes'] as const;
const PHASE_BY_NAME = { Clear: 0, Write: 1, Delete: 2, DirTimes: 3 } as const;
export type PhaseName = (typeof PHASE_NAMES)[number];

/** One operation as a line of a table: `Write copy d/f new absent` ('.' is the root). */
export function show(op: Operation): string {
  const path = op.path === '' ? '.' : op.path;
  return `${PHASE_NAMES[op.phase]} ${op.op} ${path} ${op.reason} ${op.pre.type}`;
}

/** An operation for the plan tests, from the same words `show` prints. */
export function op(
  phase: PhaseName,
  kind: Operation['op'],
  path: RelPath,
  reason: Reason,
  source?: Entry,
): Operation {
  const pre =
    kind === 'mkdir' || reason === 'new' || reason === 'kind-changed'
      ? ABSENT
      : kind === 'set-meta' && source?.kind === 'dir'
        ? ANY_DIR
        : same(source ?? file(path));
  return {
    op: kind,
    path,
    pre,
    reason,
    phase: PHASE_BY_NAME[phase] as Phase,
    ...(source ? { source } : {}),
  };
}
