import { parseArgs } from 'node:util';
import { ConcordError, EXIT } from '../errors.ts';
import { indexLocal, statusLocal } from '../local-state.ts';
import { rulesFrom, usageFrom } from './args.ts';
import { formatBytes, toJson } from './format.ts';
import { type Out, problemLine, shownPath } from './render.ts';

const rootOptions = {
  json: { type: 'boolean' },
  exclude: { type: 'string', multiple: true },
  include: { type: 'string', multiple: true },
  rebuild: { type: 'boolean' },
} as const;

function parseRoot(argv: string[]) {
  try {
    return parseArgs({
      args: argv,
      options: rootOptions,
      allowPositionals: true,
      strict: true,
      tokens: true,
    });
  } catch (err) {
    throw usageFrom(err);
  }
}

function rootArgs(command: 'index' | 'status', argv: string[]) {
  const { values, positionals, tokens } = parseRoot(argv);
  if (positionals.length !== 1) {
    throw new ConcordError(
      'usage',
      positionals.length === 0
        ? `${command} needs a root`
        : `${command} takes one root, got ${positionals.length}: ${positionals.join(' ')}`,
      { hint: `concord ${command} ROOT` },
    );
  }
  if (command === 'status' && values.rebuild)
    throw new ConcordError('usage', '--rebuild goes with concord index', {
      hint: 'concord index --rebuild ROOT',
    });
  return {
    root: positionals[0] as string,
    json: values.json ?? false,
    rebuild: values.rebuild ?? false,
    rules: rulesFrom(tokens),
  };
}

/** `concord index ROOT [--rebuild]`: refresh the root's file index, print counts. */
export async function runIndexCommand(argv: string[], out: Out): Promise<number> {
  const args = rootArgs('index', argv);
  const r = await indexLocal(args.root, { rebuild: args.rebuild, rules: args.rules });
  if (r.rebuilt) out.stderr.write(`concord: ${rebuiltLine(r.rebuilt)}\n`);
  for (const p of r.problems) out.stderr.write(`${problemLine(p)}\n`);
  if (args.json) {
    const { problems, ...counts } = r;
    out.stdout.write(`${toJson({ type: 'index', ...counts, problems })}\n`);
  } else {
    out.stdout.write(
      `Indexed ${args.root}: ${r.files} files (${formatBytes(r.bytes)}), ${r.dirs} directories, ` +
        `${r.symlinks} symlinks; hashed now ${r.hashedNow}, reused ${r.reused}` +
        `${r.problems.length ? `; ${r.problems.length} problems` : ''}\n`,
    );
  }
  return r.problems.length > 0 ? EXIT.unresolved : EXIT.ok;
}

/** `concord status ROOT`: one line per path changed since the index last saw the root. */
export async function runStatusCommand(argv: string[], out: Out): Promise<number> {
  const args = rootArgs('status', argv);
  const s = await statusLocal(args.root, { rules: args.rules });
  for (const p of s.problems) out.stderr.write(`${problemLine(p)}\n`);
  if (args.json) {
    out.stdout.write(
      `${toJson({ type: 'status', indexedAt: new Date(s.indexedMs).toISOString(), changes: s.changes, problems: s.problems })}\n`,
    );
  } else {
    for (const c of s.changes)
      out.stdout.write(`${c.kind.padEnd(9)}${shownPath(c.path)}${c.entry === 'dir' ? '/' : ''}\n`);
  }
  // What could not be read is not known to be unchanged: as index does, 3 says so.
  return s.problems.length > 0 ? EXIT.unresolved : EXIT.ok;
}

/** What --rebuild did with a damaged state database, in one line. */
function rebuiltLine({ aside, lost }: { aside: string; lost: string[] }): string {
  const kept = `the damaged state database was moved to ${shownPath(aside)} and a new one made`;
  if (lost.length === 0) return `${kept}, holding all of it but the file index (rebuilt now)`;
  return `${kept}; could not read back: ${lost.join(', ')} (a two-way pair without its ancestors syncs next as a first merge: files deleted since its last sync may come back)`;
}
