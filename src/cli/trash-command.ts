import { parseArgs } from 'node:util';
import { parseTimeArg, TIME_HINT } from '../core/time-arg.ts';
import { ConcordError, EXIT } from '../errors.ts';
import { emptyTrash } from '../trash/empty.ts';
import { TRASH_DIR, type TrashItem } from '../trash/layout.ts';
import { withRootLock } from '../trash/lock.ts';
import { openTrash, readItems } from '../trash/read.ts';
import { restoreFromTrash, trashPathArg } from '../trash/restore.ts';
import { usageFrom } from './args.ts';
import { formatBytes, formatCount, toJson } from './format.ts';
import { type Out, shownPath } from './render.ts';

const USAGE = {
  list: 'concord trash list ROOT [--json]',
  restore: 'concord trash restore ROOT PATH [--at TIME] [--to DIR]',
  empty: 'concord trash empty ROOT [--older-than AGE]',
} as const;
type Sub = keyof typeof USAGE;

const OPTIONS = {
  list: { json: { type: 'boolean' } },
  restore: { at: { type: 'string' }, to: { type: 'string' } },
  empty: { 'older-than': { type: 'string' } },
} as const;

/** `concord trash list | restore | empty`: the trash that mirror and two-way runs keep. */
export async function runTrashCommand(argv: string[], out: Out, now = Date.now): Promise<number> {
  const [sub, ...rest] = argv;
  if (sub !== 'list' && sub !== 'restore' && sub !== 'empty')
    throw new ConcordError(
      'usage',
      sub === undefined ? 'trash needs a command' : `unknown trash command '${sub}'`,
      { hint: Object.values(USAGE).join(' | ') },
    );
  const { values, positionals } = parse(sub, rest);
  const want = sub === 'restore' ? 2 : 1;
  if (positionals.length !== want)
    throw new ConcordError(
      'usage',
      positionals.length < want
        ? `trash ${sub} needs ${want === 2 ? 'ROOT and PATH' : 'a ROOT'}`
        : `trash ${sub} takes ${want === 2 ? 'ROOT and PATH' : 'one ROOT'}, got ${positionals.length}: ${positionals.join(' ')}`,
      { hint: USAGE[sub] },
    );
  const root = positionals[0] as string;
  if (sub === 'list') return list(root, values.json === true, out);
  if (sub === 'restore') {
    const path = trashPathArg(positionals[1] as string);
    const atMs = timeArg('--at', values.at, now());
    const trash = openTrash(root);
    const r = await withRootLock(trash, `trash restore ${root} ${positionals[1]}`, () =>
      restoreFromTrash(trash, path, { atMs, to: values.to }),
    );
    const lines = r.items.map(
      (i) =>
        `  ${shownPath(i.path)}${i.kind === 'dir' ? '/' : ''}  (trashed ${localTime(i.run.ms)})`,
    );
    out.stdout.write(
      `Restored ${count(r.items.length, 'item')} (${formatBytes(r.bytes)}) from the trash of ${root} into ${r.dest}:\n${lines.join('\n')}\n`,
    );
    return EXIT.ok;
  }
  const olderThan = values['older-than'];
  const before = timeArg('--older-than', olderThan, now());
  const trash = openTrash(root);
  const freed = await withRootLock(trash, `trash empty ${root}`, () => emptyTrash(trash, before));
  const what = `${count(freed.items, 'item')}, ${formatBytes(freed.bytes)}`;
  const kept = freed.kept > 0 ? `; ${count(freed.kept, 'newer run')} kept` : '';
  const older = olderThan === undefined ? '' : ` older than ${olderThan}`;
  if (freed.runs === 0 && freed.kept === 0)
    out.stdout.write(`Nothing to free: the trash of ${root} is empty\n`);
  else if (freed.runs === 0)
    out.stdout.write(`Nothing to free: the trash of ${root} holds no run${older}${kept}\n`);
  else
    out.stdout.write(
      `Freed ${what}: ${count(freed.runs, 'trash run')}${older} removed from ${root}${kept}\n`,
    );
  return EXIT.ok;
}

function list(root: string, json: boolean, out: Out): number {
  const trash = openTrash(root);
  const items = readItems(trash);
  if (json) {
    out.stdout.write(`${toJson(items.map(itemJson))}\n`);
    return EXIT.ok;
  }
  if (items.length === 0) {
    out.stdout.write(`The trash of ${root} is empty\n`);
    return EXIT.ok;
  }
  const sizes = items.map((i) => (i.kind === 'dir' ? '-' : formatBytes(i.size)));
  const width = Math.max(4, ...sizes.map((s) => s.length));
  const rows = items.map(
    (i, k) =>
      `${localTime(i.run.ms)}  ${i.kind.padEnd(7)}  ${(sizes[k] as string).padStart(width)}  ${shownPath(i.path)}${i.kind === 'dir' ? '/' : ''}${i.version > 1 ? `  (version ${i.version} of that run)` : ''}`,
  );
  const total = items.reduce((n, i) => n + i.size, 0);
  out.stdout.write(
    `Trash of ${root} (times are local):\n` +
      `${'TRASHED AT'.padEnd(19)}  ${'KIND'.padEnd(7)}  ${'SIZE'.padStart(width)}  PATH\n` +
      `${rows.join('\n')}\n` +
      `${count(items.length, 'item')}, ${formatBytes(total)}; put one back with: concord trash restore ${root} PATH [--at TIME]\n`,
  );
  return EXIT.ok;
}

function itemJson(i: TrashItem) {
  return {
    path: i.path,
    trashedAt: new Date(i.run.ms).toISOString().replace('.000Z', 'Z'),
    size: i.size,
    kind: i.kind,
    runDir: i.run.name,
    storedAs: `${TRASH_DIR}/${i.stored}`,
  };
}

function parse(sub: Sub, argv: string[]) {
  try {
    const r = parseArgs({
      args: argv,
      options: OPTIONS[sub],
      allowPositionals: true,
      strict: true,
    });
    return {
      positionals: r.positionals,
      values: r.values as { json?: boolean; at?: string; to?: string; 'older-than'?: string },
    };
  } catch (err) {
    throw usageFrom(err);
  }
}

function timeArg(name: string, text: string | undefined, nowMs: number): number | undefined {
  if (text === undefined) return undefined;
  const ms = parseTimeArg(text, nowMs);
  if (ms === undefined)
    throw new ConcordError('usage', `${name} '${text}' is not a time or an age`, {
      hint: TIME_HINT,
    });
  return ms;
}

/** `2026-12-01 13:08:33` in local time: what `--at` reads back (quoted) as local time. */
export function localTime(ms: number): string {
  const d = new Date(ms);
  const p = (n: number) => String(n).padStart(2, '0');
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())} ${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())}`;
}

function count(n: number, noun: string): string {
  return `${formatCount(n)} ${noun}${n === 1 ? '' : 's'}`;
}
