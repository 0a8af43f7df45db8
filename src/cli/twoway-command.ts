import type { Policy } from '../core/conflict.ts';
import { comparePaths } from '../core/path.ts';
import type { TwoWayOp } from '../core/reconcile.ts';
import type { TwoWayPlan } from '../engine/twoway.ts';
import { EXIT, exitOfRun } from '../errors.ts';
import { planTwoWayLocal, syncTwoWayLocal } from '../twoway-local.ts';
import type { SyncArgs } from './args.ts';
import { formatBytes, toJson } from './format.ts';
import { terminalPrompter } from './prompt.ts';
import { humanRenderer, jsonRenderer, type Out, shownPath } from './render.ts';

/** `concord sync A B` and `concord plan A B` in two-way mode. */
export async function runTwoWayCommand(
  command: 'sync' | 'plan',
  args: SyncArgs,
  out: Out,
  input: NodeJS.ReadableStream & { isTTY?: boolean } = process.stdin,
): Promise<number> {
  const now = () => Date.now();
  const renderer = args.json ? jsonRenderer(out) : humanRenderer(out, now);
  const policy: Policy = args.conflict ?? 'keep-both';
  const label = `two-way ${args.a} <-> ${args.b}`;
  const common = {
    checksum: args.checksum,
    modifyWindowNs: args.modifyWindowNs,
    rules: args.rules,
    maxDelete: args.maxDelete,
    force: args.force,
    trash: args.trash,
    concurrency: args.concurrency,
    fsync: args.fsync,
    onEvent: renderer.event,
    now,
    policy,
    fallback: args.conflictFallback,
    onNotice: (line: string) => out.stderr.write(`concord: ${line}\n`),
  };
  // A person answers conflicts only on a terminal; otherwise the fallback, or exit 2.
  const prompter =
    policy === 'prompt' && input.isTTY === true && command === 'sync' && !args.dryRun
      ? terminalPrompter(input, out.stderr)
      : undefined;

  // `sync --dry-run` is a run that changes nothing: it reports its summary (with --json, the
  // events and the summary line last), as one-way runs do. It printed the plan instead, so a
  // script reading the last --json line for the summary got a plan document.
  if (command === 'plan') {
    const plan = await planTwoWayLocal(args.a, args.b, {
      ...common,
      // A plan shows what the policy would do; a prompt is answered "skip" there.
      ...(policy === 'prompt' ? { policy: args.conflictFallback ?? 'keep-both' } : {}),
      onEvent: () => {},
    });
    if (args.json) out.stdout.write(`${toJson(planDoc(args, plan))}\n`);
    else out.stdout.write(`${planText(plan, label)}\n`);
    for (const p of plan.problems)
      if (!args.json) renderer.event({ type: 'problem', jobId: '', problem: p });
    return plan.problems.length > 0 ? EXIT.unresolved : EXIT.ok;
  }

  const abort = new AbortController();
  // Ctrl-C at a prompt: stop waiting for the answer (it and the rest count as skipped), else
  // the run hung at the question instead of exiting 130.
  abort.signal.addEventListener('abort', () => prompter?.close());
  const onSignal = () => abort.abort();
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  try {
    const { summary, plan } = await syncTwoWayLocal(args.a, args.b, {
      ...common,
      // A dry run asks nobody: a prompt counts what its fallback (else keep-both) would do.
      ...(args.dryRun && policy === 'prompt'
        ? { policy: args.conflictFallback ?? 'keep-both' }
        : {}),
      dryRun: args.dryRun,
      signal: abort.signal,
      ask: prompter?.ask,
    });
    // DESIGN's --json contract has `conflict` events, but the engine emits none: without these
    // lines a script learns how many conflicts there were, not which paths or what was chosen.
    if (args.json)
      for (const { conflict: c, choice } of plan.conflicts)
        out.stdout.write(
          `${toJson({ type: 'conflict', jobId: summary.jobId, path: c.path, changeA: c.changeA, changeB: c.changeB, choice, ...(c.moved ? { movedTo: c.moved } : {}) })}\n`,
        );
    // The engine adds a problem per skipped conflict to the summary without emitting it, so a
    // terminal's summary said "listed above" of conflicts never listed: emit them here.
    for (const p of summary.problems)
      if (p.code === 'conflict-skipped')
        renderer.event({ type: 'problem', jobId: summary.jobId, problem: p });
    renderer.summary(summary, label);
    if (abort.signal.aborted) {
      out.stderr.write('concord: interrupted; what was done is consistent, run again to finish\n');
      return EXIT.interrupted;
    }
    return exitOfRun(summary.problems);
  } finally {
    prompter?.close();
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
}

const VERB: Record<TwoWayOp['op'], string> = {
  copy: 'copy',
  mkdir: 'mkdir',
  'set-meta': 'set metadata',
  delete: 'delete',
  move: 'rename',
};

function opLine(o: TwoWayOp): string {
  const from = o.side === 'B' ? 'A' : 'B';
  const size =
    o.op === 'copy' && o.source?.kind === 'file' ? ` (${formatBytes(o.source.size)})` : '';
  const path = shownPath(o.path);
  const what =
    o.op === 'copy'
      ? `${path} from ${from}${o.from && o.from !== o.path ? `:${shownPath(o.from)}` : ''}${size}`
      : o.op === 'move'
        ? `${shownPath(o.from ?? '')} -> ${path}`
        : path;
  // A move found by the scan reads `move P -> Q`; a conflict's version set aside is renamed.
  const verb = o.reason === 'moved' ? 'move' : VERB[o.op];
  return `  on ${o.side}: ${verb} ${what}: ${o.why}`;
}

/** `concord plan` for two-way: each decision with its reason. */
export function planText(plan: TwoWayPlan, label: string): string {
  const lines = [
    `Plan: ${label}${plan.firstRun ? ' (first sync: a merge, nothing is deleted)' : ''}`,
  ];
  // Directory times and modes are bookkeeping: shown only when they are the change.
  const shown = plan.ops
    .filter((o) => o.reason !== 'dir-times')
    .sort((x, y) => comparePaths(x.path, y.path));
  if (shown.length > 0) lines.push('', `Operations (${shown.length}):`, ...shown.map(opLine));
  if (plan.conflicts.length > 0) {
    lines.push('', `Conflicts (${plan.conflicts.length}):`);
    for (const { conflict: c, choice } of plan.conflicts) {
      const what =
        choice === 'skip'
          ? 'left alone'
          : choice === 'both'
            ? 'both versions kept'
            : `${choice}'s version wins`;
      if (c.moved)
        lines.push(
          `  ${shownPath(c.path)}: moved on both sides (to ${shownPath(c.moved.a)} on A, to ${shownPath(c.moved.b)} on B): both names kept`,
        );
      else lines.push(`  ${shownPath(c.path)}: changed on both sides: ${what}`);
    }
  }
  if (shown.length === 0 && plan.conflicts.length === 0)
    lines.push('', 'Nothing to do: A and B are in sync.');
  return lines.join('\n');
}

function planDoc(args: SyncArgs, plan: TwoWayPlan) {
  return {
    type: 'plan',
    mode: 'two-way',
    a: args.a,
    b: args.b,
    firstRun: plan.firstRun,
    operations: plan.ops.map((o) => ({
      side: o.side,
      op: o.op,
      path: o.path,
      ...(o.from !== undefined ? { from: o.from } : {}),
      reason: o.reason,
      why: o.why,
      kind: o.source?.kind ?? (o.pre.type === 'same' ? o.pre.entry.kind : undefined),
      ...(o.source?.kind === 'file' && o.op === 'copy' ? { size: o.source.size } : {}),
    })),
    conflicts: plan.conflicts.map(({ conflict: c, choice }) => ({
      path: c.path,
      changeA: c.changeA,
      changeB: c.changeB,
      choice,
      ...(c.moved ? { movedTo: c.moved } : {}),
    })),
    problems: plan.problems,
  };
}
