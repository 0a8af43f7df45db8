import { comparePaths } from '../core/path.ts';
import type { Operation, Reason } from '../core/plan.ts';
import type { Problem } from '../core/problem.ts';
import { formatBytes, formatCount, toJson } from './format.ts';
import { type Out, problemLine, shownPath } from './render.ts';

const GROUPS: { title: string; mark: string; reasons: Reason[] }[] = [
  { title: 'Move (no bytes copied)', mark: '>', reasons: ['moved'] },
  { title: 'Create', mark: '+', reasons: ['new'] },
  { title: 'Update', mark: '~', reasons: ['modified'] },
  { title: 'Replace with another kind', mark: '!', reasons: ['kind-changed'] },
  { title: 'Metadata only (mtime or mode)', mark: '=', reasons: ['metadata'] },
  { title: 'Delete (to the trash)', mark: '-', reasons: ['extra', 'replaced'] },
];

/** Where a one-way plan's deletions and overwritten versions go, as `plan` says it. */
export type KeptIn = 'trash' | 'history' | 'nowhere';

const DELETE_TITLES: Record<KeptIn, string> = {
  trash: ' (to the trash)',
  history: ' (kept in history)',
  nowhere: ' (for good: --no-trash)',
};

/** `concord plan`: the operations grouped by what they do, in path order (parent first) inside a group. */
export function planText(ops: readonly Operation[], header: string, keptIn: KeptIn): string {
  const lines = [header];
  let shown = 0;
  for (const g of GROUPS) {
    const members = ops
      .filter((o) => g.reasons.includes(o.reason))
      .sort((x, y) => comparePaths(x.path, y.path));
    if (members.length === 0) continue;
    shown += members.length;
    const title = g.title.replace(' (to the trash)', DELETE_TITLES[keptIn]);
    lines.push('', `${title} (${formatCount(members.length)}):`);
    for (const o of members) lines.push(`  ${g.mark} ${describe(o)}`);
  }
  if (shown === 0) lines.push('', 'Nothing to do: B is in sync.');
  return lines.join('\n');
}

function describe(o: Operation): string {
  const s = o.source;
  const kind = o.op === 'delete' && o.pre.type === 'same' ? o.pre.entry.kind : s?.kind;
  const path = kind === 'dir' ? `${shownPath(o.path)}/` : shownPath(o.path);
  const from = shownPath(o.from ?? '');
  if (o.op === 'move') return `move ${kind === 'dir' ? `${from}/` : from} -> ${path}`;
  if (kind === 'symlink' && s?.target !== undefined) return `${path} -> ${shownPath(s.target)}`;
  if (o.op === 'copy' && s?.kind === 'file') return `${path}  (${formatBytes(s.size)})`;
  return path;
}

export function planJson(ops: readonly Operation[]) {
  return ops.map((o) => ({
    op: o.op,
    path: o.path,
    reason: o.reason,
    ...(o.from !== undefined ? { from: o.from } : {}),
    kind: o.source?.kind ?? (o.pre.type === 'same' ? o.pre.entry.kind : undefined),
    ...(o.source?.kind === 'file' && o.op === 'copy' ? { size: o.source.size } : {}),
    ...(o.source?.target !== undefined ? { target: o.source.target } : {}),
  }));
}

/** `concord plan A B` of a one-way mode: the JSON document, or the grouped text. */
export function writeOneWayPlan(
  out: Out,
  planned: { ops: readonly Operation[]; problems: readonly Problem[] },
  how: { mode: string; a: string; b: string; json: boolean; keptIn: KeptIn },
): void {
  if (how.json) {
    const doc = {
      type: 'plan',
      mode: how.mode,
      a: how.a,
      b: how.b,
      operations: planJson(planned.ops),
      problems: planned.problems,
    };
    out.stdout.write(`${toJson(doc)}\n`);
    return;
  }
  out.stdout.write(
    `${planText(planned.ops, `Plan: ${how.mode} ${how.a} -> ${how.b}`, how.keptIn)}\n`,
  );
  for (const p of planned.problems) out.stderr.write(`${problemLine(p)}\n`);
}
