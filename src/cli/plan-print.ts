import { comparePaths } from '../core/path.ts';
import type { Operation, Reason } from '../core/plan.ts';
import { formatBytes, formatCount } from './format.ts';

const GROUPS: { title: string; mark: string; reasons: Reason[] }[] = [
  { title: 'Move (no bytes copied)', mark: '>', reasons: ['moved'] },
  { title: 'Create', mark: '+', reasons: ['new'] },
  { title: 'Update', mark: '~', reasons: ['modified'] },
  { title: 'Replace with another kind', mark: '!', reasons: ['kind-changed'] },
  { title: 'Metadata only (mtime or mode)', mark: '=', reasons: ['metadata'] },
  { title: 'Delete (to the trash)', mark: '-', reasons: ['extra', 'replaced'] },
];

/** `concord plan`: the operations grouped by what they do, in path order (parent first) inside a group. */
export function planText(ops: readonly Operation[], header: string, trash: boolean): string {
  const lines = [header];
  let shown = 0;
  for (const g of GROUPS) {
    const members = ops
      .filter((o) => g.reasons.includes(o.reason))
      .sort((x, y) => comparePaths(x.path, y.path));
    if (members.length === 0) continue;
    shown += members.length;
    const title = trash ? g.title : g.title.replace(' (to the trash)', ' (for good: --no-trash)');
    lines.push('', `${title} (${formatCount(members.length)}):`);
    for (const o of members) lines.push(`  ${g.mark} ${describe(o)}`);
  }
  if (shown === 0) lines.push('', 'Nothing to do: B is in sync.');
  return lines.join('\n');
}

function describe(o: Operation): string {
  const s = o.source;
  const kind = o.op === 'delete' && o.pre.type === 'same' ? o.pre.entry.kind : s?.kind;
  const path = kind === 'dir' ? `${o.path}/` : o.path;
  if (o.op === 'move') return `move ${kind === 'dir' ? `${o.from}/` : o.from} -> ${path}`;
  if (kind === 'symlink' && s?.target !== undefined) return `${path} -> ${s.target}`;
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
