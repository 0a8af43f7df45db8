import { existsSync, realpathSync, statSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { Catalog, type Run } from '../backup/catalog.ts';
import { prune } from '../backup/prune.ts';
import {
  checkDestination,
  historyPath,
  iso,
  restore,
  restorePoint,
  wantedAt,
} from '../backup/restore.ts';
import { backupLocal, planBackup, recoverCrashed } from '../backup/run.ts';
import { listVersions } from '../backup/versions.ts';
import { hasRules } from '../core/retention.ts';
import { parseTimeArg, TIME_HINT } from '../core/time-arg.ts';
import { ConcordError, EXIT, exitOfRun } from '../errors.ts';
import { concordHome } from '../index/home.ts';
import { readRootId } from '../index/location.ts';
import { acquireLocks, rootLockKeys } from '../index/lock.ts';
import { openStateDb } from '../index/state-db.ts';
import {
  parseRetention,
  parseSyncArgs,
  retentionOptions,
  type SyncArgs,
  usageFrom,
} from './args.ts';
import { formatBytes, formatCount, toJson } from './format.ts';
import { writeOneWayPlan } from './plan-print.ts';
import { humanRenderer, jsonRenderer, type Out, problemLine, shownPath } from './render.ts';

/** `concord backup | versions | restore | prune`. */
export async function runBackupCommand(
  command: 'backup' | 'versions' | 'restore' | 'prune',
  args: string[],
  out: Out,
): Promise<number> {
  switch (command) {
    case 'backup':
      return runBackupSync('backup', parseSyncArgs('backup', args), out);
    case 'versions':
      return runVersions(args, out);
    case 'restore':
      return runRestore(args, out);
    case 'prune':
      return runPrune(args, out);
  }
}

/** `concord backup A B`, `concord sync A B --mode backup`, `concord plan A B --mode backup`. */
export async function runBackupSync(
  command: SyncArgs['command'],
  args: SyncArgs,
  out: Out,
): Promise<number> {
  const now = () => Date.now();
  const common = {
    checksum: args.checksum,
    modifyWindowNs: args.modifyWindowNs,
    rules: args.rules,
    maxDelete: args.maxDelete,
    concurrency: args.concurrency,
    fsync: args.fsync,
    now,
  };
  if (command === 'plan') {
    const planned = await planBackup(args.a, args.b, { ...common, keepPlan: true });
    writeOneWayPlan(out, planned, {
      mode: 'backup',
      a: args.a,
      b: args.b,
      json: args.json,
      keptIn: 'history',
    });
    return planned.problems.length > 0 ? EXIT.unresolved : EXIT.ok;
  }
  const renderer = args.json ? jsonRenderer(out) : humanRenderer(out, now);
  const abort = new AbortController();
  const onSignal = () => abort.abort();
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  try {
    const r = await backupLocal(args.a, args.b, {
      ...common,
      dryRun: args.dryRun,
      signal: abort.signal,
      onEvent: renderer.event,
      keepPlan: false,
      retention: args.retention,
    });
    if (!args.json && r.pruned !== undefined && r.pruned.versions > 0)
      out.stdout.write(
        `retention: ${formatCount(r.pruned.versions)} old versions pruned (${formatBytes(r.pruned.bytes)} freed)\n`,
      );
    renderer.summary(r.summary, `backup ${args.a} -> ${args.b}`);
    if (abort.signal.aborted) {
      out.stderr.write('concord: interrupted; what was done is consistent, run again to finish\n');
      return EXIT.interrupted;
    }
    return exitOfRun(r.summary.problems);
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
}

/** `concord versions B [PATH] [--json]`. */
async function runVersions(argv: string[], out: Out): Promise<number> {
  const { values, positionals } = parsed(() =>
    parseArgs({ args: argv, options: { json: { type: 'boolean' } }, allowPositionals: true }),
  );
  if (positionals.length < 1 || positionals.length > 2)
    throw new ConcordError('usage', 'versions takes a backup root and an optional path', {
      hint: 'concord versions B [PATH] [--json]',
    });
  const [b, p = '/'] = positionals as [string, string | undefined];
  const root = backupRoot(b);
  const catalog = Catalog.open(root, b, { create: false, readonly: true });
  try {
    const path = historyPath(p);
    const list = listVersions(catalog, path);
    if (list === undefined)
      throw new ConcordError('usage', `${p} is not in the history of this backup`, {
        path: b,
        hint: `concord versions ${b} lists what it holds`,
      });
    if (values.json) {
      out.stdout.write(`${JSON.stringify(list)}\n`);
      return EXIT.ok;
    }
    if (list.length === 0) {
      out.stdout.write('No versions.\n');
      return EXIT.ok;
    }
    const sizes = list.map((v) => formatBytes(v.size));
    const w = Math.max(4, ...sizes.map((s) => s.length));
    const lines = [`${'TIME'.padEnd(24)}  ${'SIZE'.padStart(w)}  ${'STATE'.padEnd(7)}  PATH`];
    list.forEach((v, i) => {
      lines.push(
        `${v.versionTime.padEnd(24)}  ${(sizes[i] as string).padStart(w)}  ${v.state.padEnd(7)}  ${shownPath(v.path)}`,
      );
    });
    out.stdout.write(`${lines.join('\n')}\n`);
    return EXIT.ok;
  } finally {
    catalog.close();
  }
}

/** `concord restore B PATH [--at TIME] [--to DIR] [--yes] [--json]`. */
async function runRestore(argv: string[], out: Out): Promise<number> {
  const { values, positionals } = parsed(() =>
    parseArgs({
      args: argv,
      options: {
        at: { type: 'string' },
        to: { type: 'string' },
        yes: { type: 'boolean', short: 'y' },
        json: { type: 'boolean' },
      },
      allowPositionals: true,
    }),
  );
  if (positionals.length !== 2)
    throw new ConcordError('usage', 'restore takes a backup root and a path', {
      hint: 'concord restore B PATH [--at TIME] [--to DIR] [--yes]; PATH / is the whole tree',
    });
  const [b, p] = positionals as [string, string];
  const path = historyPath(p);
  const nowMs = Date.now();
  let atMs: number | undefined;
  if (values.at !== undefined) {
    atMs = parseTimeArg(values.at, nowMs);
    if (atMs === undefined)
      throw new ConcordError('usage', `--at must be a time or an age, not '${values.at}'`, {
        hint: TIME_HINT,
      });
  }
  const root = backupRoot(b);
  // Everything is checked on a read-only catalog first: a refused restore changes nothing.
  const check = Catalog.open(root, b, { create: false, readonly: true });
  let point: Run;
  try {
    point = restorePoint(check, b, atMs);
    wantedAt(check, b, path, point);
  } finally {
    check.close();
  }
  if (values.to === undefined && values.yes !== true)
    throw new ConcordError('usage', 'restoring in place replaces what B holds there', {
      path: b,
      hint: 'add --yes to restore in place, keeping what it replaces in history, or use --to DIR',
    });
  if (values.to !== undefined) checkDestination(values.to, root);
  const release = await lockRoot(root, b, `restore ${b} ${p}`);
  const catalog = Catalog.open(root, b, { create: false });
  try {
    const r = await restore(catalog, root, b, path, point, { to: values.to });
    if (values.json) {
      out.stdout.write(
        `${toJson({ type: 'restore', path: path === '' ? '/' : path, backupTime: iso(point.timeMs), to: values.to ?? null, restored: r.restored, bytes: r.bytes, problems: r.problems })}\n`,
      );
    } else {
      for (const pr of r.problems) out.stderr.write(`concord: ${problemLine(pr)}\n`);
      out.stdout.write(
        `restored ${path === '' ? '/' : path} as the backup of ${iso(point.timeMs)} saw it, ${values.to === undefined ? `in place in ${b}` : `into ${values.to}`}: ${formatCount(r.restored)} ${r.restored === 1 ? 'entry' : 'entries'}, ${formatBytes(r.bytes)}\n`,
      );
    }
    return r.problems.length > 0 ? EXIT.unresolved : EXIT.ok;
  } finally {
    catalog.close();
    release();
  }
}

/** `concord prune B [--keep-last N] [--keep-within AGE] [--keep-staggered] [--json]`. */
async function runPrune(argv: string[], out: Out): Promise<number> {
  const { values, positionals } = parsed(() =>
    parseArgs({
      args: argv,
      options: { ...retentionOptions, json: { type: 'boolean' } },
      allowPositionals: true,
    }),
  );
  if (positionals.length !== 1)
    throw new ConcordError('usage', 'prune takes one backup root', {
      hint: 'concord prune B [--keep-last N] [--keep-within AGE] [--keep-staggered]',
    });
  const b = positionals[0] as string;
  const given = parseRetention(values);
  const root = backupRoot(b);
  const catalog = Catalog.open(root, b, { create: false });
  try {
    const release = await lockRoot(root, b, `prune ${b}`);
    try {
      recoverCrashed(catalog, root);
      if (given !== undefined) catalog.setPolicy(given);
      const policy = catalog.policy();
      const r = hasRules(policy)
        ? prune(catalog, root, policy, Date.now())
        : { versions: 0, files: 0, bytes: 0 };
      if (values.json)
        out.stdout.write(`${toJson({ type: 'prune', policy: policy ?? null, ...r })}\n`);
      else if (!hasRules(policy))
        out.stdout.write(
          'no retention policy: every version is kept (give --keep-last N, --keep-within AGE or --keep-staggered)\n',
        );
      else
        out.stdout.write(
          `pruned ${formatCount(r.versions)} versions, ${formatCount(r.files)} files (${formatBytes(r.bytes)}) from ${b}\n`,
        );
      return EXIT.ok;
    } finally {
      release();
    }
  } finally {
    catalog.close();
  }
}

/** The resolved path of an existing backup root, or a bad-root error naming it. */
function backupRoot(b: string): string {
  const st = statSync(b, { throwIfNoEntry: false });
  if (!st?.isDirectory())
    throw new ConcordError('bad-root', existsSync(b) ? 'is not a directory' : 'does not exist', {
      path: b,
      hint: 'give the destination of a concord backup',
    });
  return realpathSync(b);
}

/** The run lock on a backup root (S18): no backup, prune or restore changes it meanwhile. */
async function lockRoot(root: string, shown: string, command: string): Promise<() => void> {
  const db = openStateDb(concordHome());
  try {
    const release = await acquireLocks(db, rootLockKeys(root, readRootId(root), shown), {
      command,
    });
    return () => {
      release();
      db.close();
    };
  } catch (err) {
    db.close();
    throw err;
  }
}

/** Runs a parseArgs call (strict by default), turning its errors into usage errors. */
function parsed<T>(fn: () => T): T {
  try {
    return fn();
  } catch (err) {
    throw usageFrom(err);
  }
}
