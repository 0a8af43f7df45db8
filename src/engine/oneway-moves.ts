import type { CompareOptions } from '../core/compare.ts';
import { type PlanWithMoves, pairMoves, withMoves } from '../core/moves.ts';
import type { RelPath } from '../core/path.ts';
import { type Operation, Phase } from '../core/plan.ts';
import type { Endpoint } from '../endpoint/endpoint.ts';

/** Files hashed at once (the endpoint spreads them over its threads). */
const HASH_BATCH = 64;

export interface MoveScan {
  /** The plan in emission order (parent-first). */
  ops: readonly Operation[];
  irregular: { A: ReadonlySet<RelPath>; B: ReadonlySet<RelPath> };
}

/**
 * Turns the extras on B that hold what is new on A into moves (core/moves.ts), reading only
 * the files whose hash decides a pair. `applied`: operations already handed to the executor,
 * which no move may take. Returns the plan, still in emission order, and how many files were read.
 */
export async function detectMoves(
  src: Endpoint,
  dst: Endpoint,
  scan: MoveScan,
  opts: CompareOptions,
  applied: ReadonlySet<Operation>,
): Promise<PlanWithMoves & { hashed: number }> {
  const creations: Operation[] = [];
  const deletions: Operation[] = [];
  for (const op of scan.ops) {
    if (applied.has(op)) continue;
    if (op.phase === Phase.Write && op.reason === 'new' && op.op !== 'set-meta') creations.push(op);
    else if (op.op === 'delete' && op.reason === 'extra') deletions.push(op);
  }
  if (creations.length === 0 || deletions.length === 0)
    return { ops: [...scan.ops], fallbacks: new Map(), hashed: 0 };
  const input = {
    creations,
    deletions,
    irregularA: scan.irregular.A,
    irregularB: scan.irregular.B,
    opts,
    final: false,
  };
  let match = pairMoves(input);
  let hashed = 0;
  if (match.needsHash.length > 0) {
    // A file that cannot be read keeps no hash and pairs with nothing; its copy or deletion
    // reports the trouble, once.
    for (let i = 0; i < match.needsHash.length; i += HASH_BATCH)
      await Promise.all(
        match.needsHash.slice(i, i + HASH_BATCH).map(async ({ side, path, entry }) => {
          try {
            entry.hash = await (side === 'A' ? src : dst).hash(path, entry);
            hashed++;
          } catch {}
        }),
      );
    match = pairMoves({ ...input, final: true });
  }
  return { ...withMoves(scan.ops, match.pairs), hashed };
}
