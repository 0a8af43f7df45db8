import type { Entry } from './entry.ts';
import { ABSENT, Phase, same } from './plan.ts';
import {
  baseOf,
  type Conflict,
  conflictName,
  keepAside,
  other,
  type Side,
  type TwoWayOp,
} from './reconcile.ts';

export const POLICIES = [
  'keep-both',
  'keep-source',
  'keep-destination',
  'keep-newer',
  'keep-larger',
  'prompt',
] as const;
export type Policy = (typeof POLICIES)[number];

/** What to do with one conflict: a side wins, both are kept, or it is left alone. */
export type Choice = 'A' | 'B' | 'both' | 'skip';

/**
 * The choice of a policy that needs no person (`prompt` asks one instead). Pure: the entries
 * are all it looks at. keep-newer and keep-larger fall back to keep-both on a tie: there is
 * no winner to name, and keeping both loses nothing.
 */
export function choose(policy: Exclude<Policy, 'prompt'>, c: Conflict): Choice {
  switch (policy) {
    case 'keep-both':
      return 'both';
    case 'keep-source':
      return 'A';
    case 'keep-destination':
      return 'B';
    case 'keep-newer':
      return c.a.mtimeNs === c.b.mtimeNs ? 'both' : c.a.mtimeNs > c.b.mtimeNs ? 'A' : 'B';
    case 'keep-larger':
      return c.a.size === c.b.size ? 'both' : c.a.size > c.b.size ? 'A' : 'B';
  }
}

/**
 * The operations that carry out a choice. A winner replaces the loser (which goes to the
 * loser's trash: S7). `both` keeps the newer version (by mtime; A on a tie) under the name
 * and the other beside it as a conflict copy on both roots, so both roots end identical (S6).
 * `skip` changes nothing (S6) and leaves the ancestor as it was, so the next run asks again.
 */
export function resolve(c: Conflict, choice: Choice): TwoWayOp[] {
  if (choice === 'skip') return [];
  if (choice === 'both') {
    const newer: Side = c.a.mtimeNs >= c.b.mtimeNs ? 'A' : 'B';
    const loser = other(newer);
    const l = loser === 'A' ? c.a : c.b;
    const aside = conflictName(c.name, loser, l.mtimeNs, c.taken);
    return [
      ...keepAside(c.dir, c.name, aside, loser, l),
      winnerOp(c, newer, ABSENT, `conflict: ${newer}'s version is newer and keeps the name`),
    ];
  }
  const loser = choice === 'A' ? c.b : c.a;
  return [winnerOp(c, choice, same(loser), `conflict: ${choice}'s version wins`)];
}

function winnerOp(c: Conflict, winner: Side, pre: TwoWayOp['pre'], why: string): TwoWayOp {
  const w: Entry = winner === 'A' ? c.a : c.b;
  return {
    side: other(winner),
    op: 'copy',
    path: c.path,
    source: w,
    pre,
    reason: 'modified',
    phase: Phase.Write,
    record: {
      type: 'put',
      path: c.path,
      base: baseOf(w, winner === 'A' ? w : undefined, winner === 'B' ? w : undefined, w.hash),
    },
    why,
  };
}
