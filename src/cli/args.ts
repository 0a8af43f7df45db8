import { parseArgs } from 'node:util';
import { POLICIES, type Policy } from '../core/conflict.ts';
import type { FilterRule } from '../core/filter.ts';
import type { RetentionPolicy } from '../core/retention.ts';
import { AGE_HINT, parseAge } from '../core/time-arg.ts';
import { ConcordError } from '../errors.ts';

export type Mode = 'replica' | 'mirror' | 'two-way' | 'backup';
const MODES: readonly Mode[] = ['replica', 'mirror', 'two-way', 'backup'];

export interface SyncArgs {
  command: 'sync' | 'copy' | 'mirror' | 'plan' | 'backup';
  a: string;
  b: string;
  mode: Mode;
  dryRun: boolean;
  json: boolean;
  checksum: boolean;
  modifyWindowNs: bigint;
  rules: FilterRule[];
  maxDelete: number | undefined;
  trash: boolean;
  concurrency: number;
  fsync: boolean;
  yes: boolean;
  /** `concord sync NAME`: the pair's name (a and b are then empty). */
  pair: string | undefined;
  conflict: Policy | undefined;
  conflictFallback: Exclude<Policy, 'prompt'> | undefined;
  force: boolean;
  /** Backup: the retention flags given (undefined: none, the remembered policy holds). */
  retention: RetentionPolicy | undefined;
}

/** The retention flags of `concord backup` and `concord prune`. */
export const retentionOptions = {
  'keep-last': { type: 'string' },
  'keep-within': { type: 'string' },
  'keep-staggered': { type: 'boolean' },
} as const;

const syncOptions = {
  mode: { type: 'string' },
  'dry-run': { type: 'boolean', short: 'n' },
  json: { type: 'boolean' },
  checksum: { type: 'boolean', short: 'c' },
  'modify-window': { type: 'string' },
  exclude: { type: 'string', multiple: true },
  include: { type: 'string', multiple: true },
  'max-delete': { type: 'string' },
  'no-trash': { type: 'boolean' },
  concurrency: { type: 'string' },
  fsync: { type: 'boolean' },
  yes: { type: 'boolean', short: 'y' },
  conflict: { type: 'string' },
  'conflict-fallback': { type: 'string' },
  force: { type: 'boolean' },
  ...retentionOptions,
} as const;

import { DEFAULT_CONCURRENCY } from '../api.ts';

export { DEFAULT_CONCURRENCY };

/** Parses `concord <sync|copy|mirror|plan> A B [options]`; throws a usage error naming the fix. */
export function parseSyncArgs(command: SyncArgs['command'], argv: string[]): SyncArgs {
  const parsed = parse(argv, syncOptions);
  const { values, positionals, tokens } = parsed;
  const pairRun = positionals.length === 1 && (command === 'sync' || command === 'plan');
  if (positionals.length !== 2 && !pairRun) {
    throw new ConcordError(
      'usage',
      positionals.length < 2
        ? `${command} needs two roots: A and B`
        : `${command} takes two roots, got ${positionals.length}: ${positionals.join(' ')}`,
      {
        hint:
          command === 'sync' || command === 'plan'
            ? `concord ${command} A B [options], or concord ${command} PAIR-NAME`
            : `concord ${command} SOURCE DESTINATION [options]`,
      },
    );
  }
  const [a, b] = pairRun ? ['', ''] : (positionals as [string, string]);
  if (!pairRun && (a === '' || b === ''))
    throw new ConcordError(
      'usage',
      `an empty path was given as ${a === '' ? 'the source' : 'the destination'}`,
      {
        hint: 'give the directory, or . for the current one',
      },
    );
  let mode: Mode =
    command === 'copy'
      ? 'replica'
      : command === 'mirror'
        ? 'mirror'
        : command === 'backup'
          ? 'backup'
          : 'two-way';
  if (values.mode !== undefined) {
    if (command === 'copy' || command === 'mirror' || command === 'backup') {
      throw new ConcordError('usage', `--mode does not go with concord ${command}`, {
        hint: `concord ${command} is mode ${mode}; use concord sync --mode ... for another`,
      });
    }
    if (!MODES.includes(values.mode as Mode)) {
      throw new ConcordError('usage', `unknown mode '${values.mode}'`, {
        hint: `use one of: ${MODES.join(', ')}`,
      });
    }
    mode = values.mode as Mode;
  }
  const rules = rulesFrom(tokens);
  const conflict = policy('conflict', values.conflict, POLICIES);
  const conflictFallback = policy(
    'conflict-fallback',
    values['conflict-fallback'],
    POLICIES.filter((p) => p !== 'prompt'),
  ) as Exclude<Policy, 'prompt'> | undefined;
  const retention = parseRetention(values);
  if (mode === 'backup' && values['no-trash']) {
    throw new ConcordError('usage', '--no-trash does not go with backup', {
      hint: 'a backup keeps every replaced version in B/.concord/history/; prune it with --keep-last, --keep-within or --keep-staggered',
    });
  }
  if (retention !== undefined && mode !== 'backup') {
    throw new ConcordError(
      'usage',
      `--keep-last, --keep-within and --keep-staggered do not go with mode ${mode}`,
      {
        hint: 'they set the retention of a backup: concord backup A B --keep-...',
      },
    );
  }
  if ((conflict || conflictFallback) && mode !== 'two-way') {
    throw new ConcordError('usage', `--conflict does not go with mode ${mode}`, {
      hint: 'conflicts happen in two-way sync only (concord sync A B)',
    });
  }
  return {
    command,
    a,
    b,
    pair: pairRun ? positionals[0] : undefined,
    conflict,
    conflictFallback,
    force: values.force ?? false,
    mode,
    dryRun: values['dry-run'] ?? false,
    json: values.json ?? false,
    checksum: values.checksum ?? false,
    modifyWindowNs: seconds('modify-window', values['modify-window']),
    rules,
    maxDelete:
      values['max-delete'] === undefined
        ? undefined
        : integer('max-delete', values['max-delete'], 0),
    trash: !(values['no-trash'] ?? false),
    concurrency:
      values.concurrency === undefined
        ? DEFAULT_CONCURRENCY
        : integer('concurrency', values.concurrency, 1, 1024),
    fsync: values.fsync ?? false,
    yes: values.yes ?? false,
    retention,
  };
}

/** The retention policy the flags give, or undefined when none was given. */
export function parseRetention(values: {
  'keep-last'?: string | undefined;
  'keep-within'?: string | undefined;
  'keep-staggered'?: boolean | undefined;
}): RetentionPolicy | undefined {
  const last = values['keep-last'];
  const within = values['keep-within'];
  const staggered = values['keep-staggered'] ?? false;
  if (last === undefined && within === undefined && !staggered) return undefined;
  const policy: RetentionPolicy = {};
  if (last !== undefined) policy.keepLast = integer('keep-last', last, 0);
  if (within !== undefined) {
    const ms = parseAge(within);
    if (ms === undefined)
      throw new ConcordError('usage', `--keep-within must be an age, not '${within}'`, {
        hint: AGE_HINT,
      });
    policy.keepWithinMs = ms;
  }
  if (staggered) policy.keepStaggered = true;
  return policy;
}

/** --include and --exclude rules in command-line order: the last match wins. */
export function rulesFrom(tokens: ReturnType<typeof parseArgs>['tokens']): FilterRule[] {
  const rules: FilterRule[] = [];
  for (const t of tokens ?? []) {
    if (
      t.kind === 'option' &&
      (t.name === 'exclude' || t.name === 'include') &&
      t.value !== undefined
    ) {
      if (t.value.trim() === '')
        throw new ConcordError('usage', `--${t.name} needs a non-empty pattern`);
      rules.push({ type: t.name, pattern: t.value });
    }
  }
  return rules;
}

type Options = Parameters<typeof parseArgs>[0] extends infer C
  ? C extends { options?: infer O }
    ? O
    : never
  : never;

function parse<O extends NonNullable<Options>>(argv: string[], options: O) {
  try {
    return parseArgs({ args: argv, options, allowPositionals: true, strict: true, tokens: true });
  } catch (err) {
    throw usageFrom(err);
  }
}

export function usageFrom(err: unknown): ConcordError {
  const e = err as { code?: string; message?: string };
  const m = /'(-{1,2}[^']*)'/.exec(e.message ?? '');
  const opt = m?.[1] ?? '';
  switch (e.code) {
    case 'ERR_PARSE_ARGS_UNKNOWN_OPTION':
      return new ConcordError('usage', `unknown option ${opt}`, { hint: 'see concord --help' });
    case 'ERR_PARSE_ARGS_INVALID_OPTION_VALUE': {
      const name = opt.split(' ')[0] || '';
      // `--max-delete -1`: the value looks like an option, so it was not taken as one.
      const dash = /starting with a dash/.test(e.message ?? '');
      return new ConcordError('usage', `option ${name} needs a value`.replace('  ', ' '), {
        hint: dash
          ? `a value that starts with '-' is given as ${name}=VALUE`
          : 'see concord --help',
      });
    }
    case 'ERR_PARSE_ARGS_UNEXPECTED_POSITIONAL':
      return new ConcordError('usage', 'unexpected argument', { hint: 'see concord --help' });
    default:
      return new ConcordError('usage', e.message ?? String(err), { hint: 'see concord --help' });
  }
}

function policy(
  name: string,
  text: string | undefined,
  allowed: readonly Policy[],
): Policy | undefined {
  if (text === undefined) return undefined;
  if (!allowed.includes(text as Policy))
    throw new ConcordError('usage', `unknown --${name} policy '${text}'`, {
      hint: `use one of: ${allowed.join(', ')}`,
    });
  return text as Policy;
}

function integer(name: string, text: string, min: number, max = Number.MAX_SAFE_INTEGER): number {
  if (!/^\d+$/.test(text) || Number(text) < min || Number(text) > max) {
    throw new ConcordError(
      'usage',
      `--${name} must be a whole number from ${min} to ${max}, not '${text}'`,
      { hint: `e.g. --${name} ${Math.min(Math.max(min, 1), max)}` },
    );
  }
  return Number(text);
}

function seconds(name: string, text: string | undefined): bigint {
  if (text === undefined) return 0n;
  if (!/^\d+(\.\d{1,9})?$/.test(text)) {
    throw new ConcordError(
      'usage',
      `--${name} must be a number of seconds (e.g. 2 or 0.5), not '${text}'`,
    );
  }
  const [whole, frac = ''] = text.split('.');
  return BigInt(whole as string) * 1_000_000_000n + BigInt(frac.padEnd(9, '0'));
}
