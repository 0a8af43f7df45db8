import { openLocalRun } from '../api.ts';
import { planOneWay, runOneWay } from '../engine/oneway.ts';
import { ConcordError, EXIT, exitOfRun } from '../errors.ts';
import { parseSyncArgs, type SyncArgs } from './args.ts';
import { usePair } from './pair-command.ts';
import { writeOneWayPlan } from './plan-print.ts';
import { humanRenderer, jsonRenderer, type Out } from './render.ts';

/** copy, mirror, sync and plan: arguments in, a renderer on the run's events, an exit code out. */
export async function runSyncCommand(
  command: Exclude<SyncArgs['command'], 'backup'>,
  argv: string[],
  out: Out,
): Promise<number> {
  const args = parseSyncArgs(command, argv);
  if (args.pair !== undefined) usePair(args);
  if (args.mode === 'two-way' && (command === 'sync' || command === 'plan')) {
    const { runTwoWayCommand } = await import('./twoway-command.ts');
    return runTwoWayCommand(command, args, out);
  }
  if (args.mode === 'backup') {
    const { runBackupSync } = await import('./backup-command.ts');
    return runBackupSync(command, args, out);
  }
  if (args.mode !== 'replica' && args.mode !== 'mirror') {
    throw new ConcordError('not-implemented', `mode ${args.mode} is not available yet`, {
      hint: 'use concord copy (replica) or concord mirror, or --mode replica|mirror',
    });
  }
  const now = () => Date.now();
  const renderer = args.json ? jsonRenderer(out) : humanRenderer(out, now);
  const abort = new AbortController();
  const { src, dst, opts, deps, close, afterRun } = await openLocalRun(args.a, args.b, {
    mode: args.mode,
    checksum: args.checksum,
    modifyWindowNs: args.modifyWindowNs,
    rules: args.rules,
    dryRun: args.dryRun || command === 'plan',
    maxDelete: args.maxDelete,
    trash: args.trash,
    concurrency: args.concurrency,
    fsync: args.fsync,
    signal: abort.signal,
    onEvent: renderer.event,
    now,
    keepPlan: command === 'plan',
  });

  try {
    return await run();
  } finally {
    await close();
  }

  async function run(): Promise<number> {
    if (command === 'plan') {
      const planned = await planOneWay(src, dst, opts, { ...deps, emit: () => {} });
      writeOneWayPlan(out, planned, {
        mode: args.mode,
        a: args.a,
        b: args.b,
        json: args.json,
        keptIn: args.trash ? 'trash' : 'nowhere',
      });
      return planned.problems.length > 0 ? EXIT.unresolved : EXIT.ok;
    }

    const onSignal = () => abort.abort();
    process.once('SIGINT', onSignal);
    process.once('SIGTERM', onSignal);
    try {
      const { summary } = await runOneWay(src, dst, opts, deps);
      afterRun(summary);
      renderer.summary(summary, `${args.mode} ${args.a} -> ${args.b}`);
      if (abort.signal.aborted) {
        out.stderr.write(
          'concord: interrupted; what was done is consistent, run again to finish\n',
        );
        return EXIT.interrupted;
      }
      return exitOfRun(summary.problems);
    } finally {
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
    }
  }
}
