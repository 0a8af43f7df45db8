import { existsSync, mkdirSync } from 'node:fs';
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { POLICIES } from '../core/conflict.ts';
import type { FilterRule } from '../core/filter.ts';
import { STATE_DIR } from '../core/path.ts';
import { resolveLocalRoots } from '../engine/roots.ts';
import { ConcordError, EXIT } from '../errors.ts';
import { AncestorStore, forgetAncestor } from '../index/ancestors.ts';
import { concordHome } from '../index/home.ts';
import { ensureRootId, readRootId } from '../index/location.ts';
import {
  createPair,
  listPairs,
  type Pair,
  pairByName,
  pairOfRoots,
  removePair,
} from '../index/pairs.ts';
import { openStateDb, type StateDb } from '../index/state-db.ts';
import { sourceFilter } from '../run-state.ts';
import {
  type Mode,
  parseRetention,
  retentionOptions,
  rulesFrom,
  type SyncArgs,
  usageFrom,
} from './args.ts';
import { toJson } from './format.ts';
import type { Out } from './render.ts';

const NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;
const PAIR_MODES: readonly Mode[] = ['two-way', 'replica', 'mirror', 'backup'];

/** `concord pair add|list|remove|forget`. */
export async function runPairCommand(argv: string[], out: Out): Promise<number> {
  const [sub, ...rest] = argv;
  const db = openStateDb(concordHome());
  try {
    switch (sub) {
      case 'add':
        return add(db, rest, out);
      case 'list':
        return list(db, rest, out);
      case 'remove':
      case 'forget':
        return removeOrForget(db, sub, rest, out);
      default:
        throw new ConcordError(
          'usage',
          sub === undefined ? 'pair needs a subcommand' : `unknown pair subcommand '${sub}'`,
          { hint: 'concord pair add NAME A B | pair list | pair remove NAME | pair forget NAME' },
        );
    }
  } finally {
    db.close();
  }
}

/** `concord sync NAME`: the pair's roots and remembered options (the command line's win). */
export function usePair(args: SyncArgs): void {
  const name = args.pair as string;
  const db = openStateDb(concordHome());
  let pair: Pair | undefined;
  try {
    pair = pairByName(db, name);
  } finally {
    db.close();
  }
  if (!pair)
    throw new ConcordError('usage', `no pair named '${name}'`, {
      hint: 'concord pair list shows the pairs; concord pair add NAME A B makes one',
    });
  args.a = pair.aPath;
  args.b = pair.bPath;
  args.mode = pair.mode as Mode;
  const o = pair.options;
  if (args.rules.length === 0) {
    const rules: FilterRule[] = [];
    for (const pattern of o.exclude ?? []) rules.push({ type: 'exclude', pattern });
    for (const pattern of o.include ?? []) rules.push({ type: 'include', pattern });
    args.rules = rules;
  }
  args.conflict ??= o.conflict as SyncArgs['conflict'];
  args.conflictFallback ??= o.conflictFallback as SyncArgs['conflictFallback'];
  args.maxDelete ??= o.maxDelete;
  // The backup catalog remembers the policy too; the pair's is what `pair add` was given.
  args.retention ??= o.retention;
}

function named(db: StateDb, name: string): Pair {
  const pair = pairByName(db, name);
  if (!pair)
    throw new ConcordError('usage', `no pair named '${name}'`, {
      hint: 'concord pair list shows the pairs',
    });
  return pair;
}

/** The pair of two roots, by their markers (a one-off `concord sync A B` has no name). */
function ofRoots(db: StateDb, a: string, b: string): Pair {
  const ids = [a, b].map((root) => {
    const id = existsSync(root) ? readRootId(resolve(root)) : undefined;
    if (!id)
      throw new ConcordError('usage', `has no ${STATE_DIR}/root-id marker: it is in no pair`, {
        path: root,
        hint: 'concord pair list shows the pairs and their roots',
      });
    return id;
  });
  const found = pairOfRoots(db, ids[0] as string, ids[1] as string);
  if (!found)
    throw new ConcordError('usage', `${a} and ${b} are not a pair`, {
      hint: 'concord pair list shows the pairs and their roots',
    });
  return found.pair;
}

function add(db: StateDb, argv: string[], out: Out): number {
  let parsed: ReturnType<typeof parseArgs>;
  try {
    parsed = parseArgs({
      args: argv,
      allowPositionals: true,
      strict: true,
      tokens: true,
      options: {
        mode: { type: 'string' },
        conflict: { type: 'string' },
        'conflict-fallback': { type: 'string' },
        exclude: { type: 'string', multiple: true },
        include: { type: 'string', multiple: true },
        'max-delete': { type: 'string' },
        ...retentionOptions,
      },
    });
  } catch (err) {
    throw usageFrom(err);
  }
  const { values, positionals, tokens } = parsed;
  if (positionals.length !== 3)
    throw new ConcordError('usage', 'pair add needs a name and two roots', {
      hint: 'concord pair add NAME A B [--mode two-way|replica|mirror|backup] [--conflict POLICY]',
    });
  const [name, a, b] = positionals as [string, string, string];
  if (!NAME.test(name))
    throw new ConcordError('usage', `'${name}' is not a pair name`, {
      hint: 'use letters, digits, dot, dash and underscore (up to 64), starting with a letter or digit',
    });
  const mode = (values.mode as string | undefined) ?? 'two-way';
  if (!PAIR_MODES.includes(mode as Mode))
    throw new ConcordError('usage', `unknown mode '${mode}'`, {
      hint: `use one of: ${PAIR_MODES.join(', ')}`,
    });
  for (const key of ['conflict', 'conflict-fallback'] as const) {
    const v = values[key] as string | undefined;
    const allowed = key === 'conflict' ? POLICIES : POLICIES.filter((p) => p !== 'prompt');
    if (v !== undefined && !(allowed as readonly string[]).includes(v))
      throw new ConcordError('usage', `unknown --${key} policy '${v}'`, {
        hint: `use one of: ${allowed.join(', ')}`,
      });
  }
  const retention = parseRetention(values as Parameters<typeof parseRetention>[0]);
  if (retention !== undefined && mode !== 'backup')
    throw new ConcordError(
      'usage',
      `--keep-last, --keep-within and --keep-staggered do not go with mode ${mode}`,
      { hint: 'they set the retention of a backup pair: --mode backup --keep-...' },
    );
  if (
    (values.conflict !== undefined || values['conflict-fallback'] !== undefined) &&
    mode !== 'two-way'
  )
    throw new ConcordError('usage', `--conflict does not go with mode ${mode}`, {
      hint: 'conflicts happen in two-way sync only',
    });
  const maxText = values['max-delete'] as string | undefined;
  if (maxText !== undefined && !/^\d+$/.test(maxText))
    throw new ConcordError('usage', `--max-delete must be a whole number, not '${maxText}'`, {
      hint: 'the most deletions a run may make, e.g. --max-delete 100',
    });
  if (pairByName(db, name))
    throw new ConcordError('usage', `a pair named '${name}' exists already`, {
      hint: 'choose another name, or concord pair remove it first',
    });
  const rules = rulesFrom(tokens);
  // As its runs will: a one-way pair may keep B inside A when its rules leave B out.
  const roots = resolveLocalRoots(
    a,
    b,
    mode === 'two-way' ? {} : { filterOf: sourceFilter(rules) },
  );
  if (!roots.dstExists) mkdirSync(roots.dst);
  const idA = ensureRootId(roots.src);
  const idB = ensureRootId(roots.dst);
  const options = {
    conflict: values.conflict as string | undefined,
    conflictFallback: values['conflict-fallback'] as string | undefined,
    exclude: rules.filter((r) => r.type === 'exclude').map((r) => r.pattern),
    include: rules.filter((r) => r.type === 'include').map((r) => r.pattern),
    maxDelete: maxText === undefined ? undefined : Number(maxText),
    retention,
  };
  const existing = pairOfRoots(db, idA, idB);
  if (existing?.pair.name !== undefined)
    throw new ConcordError('usage', `these roots are pair '${existing.pair.name}' already`, {
      hint: `concord sync ${existing.pair.name}`,
    });
  if (existing?.swapped) {
    // The one-off pair's row (and its ancestor's per-side data) is in the order of its first
    // run. Naming it the other way round used to keep that order silently: `pair add N B A
    // --conflict keep-source` then made A win. Flipping the stored sides belongs with the
    // ancestor store; until then, refuse and say which order to use.
    throw new ConcordError(
      'usage',
      `these roots were synced as ${existing.pair.aPath} <-> ${existing.pair.bPath}; a pair of them keeps that order`,
      {
        hint: `concord pair add ${name} ${existing.pair.aPath} ${existing.pair.bPath}; keep-destination makes ${existing.pair.bPath} win conflicts`,
      },
    );
  }
  if (existing) {
    // A one-off `concord sync A B` of these roots: it gets the name, and keeps its ancestor.
    db.prepare('UPDATE pairs SET name = ?, mode = ?, options = ? WHERE id = ?').run(
      name,
      mode,
      JSON.stringify(options),
      existing.pair.id,
    );
  } else {
    createPair(db, {
      name,
      aRootId: idA,
      bRootId: idB,
      aPath: roots.src,
      bPath: roots.dst,
      mode,
      options,
      createdMs: Date.now(),
    });
  }
  out.stdout.write(
    `pair ${name}: ${roots.src} <-> ${roots.dst} (${mode}); run: concord sync ${name}\n`,
  );
  return EXIT.ok;
}

function list(db: StateDb, argv: string[], out: Out): number {
  const json = argv.includes('--json');
  const extra = argv.filter((x) => x !== '--json');
  if (extra.length > 0)
    throw new ConcordError('usage', `pair list takes no arguments, got ${extra.join(' ')}`);
  const pairs = listPairs(db);
  if (json) {
    const doc = pairs.map((p) => ({
      name: p.name ?? null,
      a: p.aPath,
      b: p.bPath,
      mode: p.mode,
      options: p.options,
      lastSync: p.lastSyncMs === undefined ? null : new Date(p.lastSyncMs).toISOString(),
      lastOutcome: p.lastOutcome ?? null,
      entries: new AncestorStore(db, p.id).count(),
    }));
    out.stdout.write(`${toJson(doc)}\n`);
    return EXIT.ok;
  }
  if (pairs.length === 0) {
    out.stdout.write('No pairs yet: concord pair add NAME A B, or concord sync A B.\n');
    return EXIT.ok;
  }
  const rows = pairs.map((p) => [
    p.name ?? '(one-off)',
    p.mode,
    p.lastSyncMs === undefined
      ? 'never'
      : new Date(p.lastSyncMs).toISOString().replace('.000Z', 'Z'),
    p.lastOutcome ?? '-',
    `${p.aPath} <-> ${p.bPath}`,
  ]);
  const head = ['NAME', 'MODE', 'LAST SYNC', 'OUTCOME', 'ROOTS'];
  const widths = head.map((h, i) =>
    Math.max(h.length, ...rows.map((r) => (r[i] as string).length)),
  );
  for (const r of [head, ...rows])
    out.stdout.write(
      `${r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i] as number))).join('  ')}\n`,
    );
  return EXIT.ok;
}

function removeOrForget(db: StateDb, sub: 'remove' | 'forget', argv: string[], out: Out): number {
  if (argv.length !== 1 && argv.length !== 2)
    throw new ConcordError('usage', `pair ${sub} needs the pair's name, or its two roots`, {
      hint: `concord pair ${sub} NAME, or concord pair ${sub} A B for a one-off sync's pair`,
    });
  const pair =
    argv.length === 1
      ? named(db, argv[0] as string)
      : ofRoots(db, argv[0] as string, argv[1] as string);
  const name = pair.name ?? `${argv[0]} <-> ${argv[1]}`;
  if (sub === 'remove') {
    removePair(db, pair.id);
    out.stdout.write(`pair ${name} removed (its roots were not touched)\n`);
  } else {
    forgetAncestor(db, pair.id);
    out.stdout.write(
      `pair ${name}: sync state forgotten; the next sync is a first sync (a merge: nothing is deleted)\n`,
    );
  }
  return EXIT.ok;
}
