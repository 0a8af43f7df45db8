import { createInterface } from 'node:readline/promises';
import type { Choice } from '../core/conflict.ts';
import type { Entry } from '../core/entry.ts';
import type { Change, Conflict } from '../core/reconcile.ts';
import { formatBytes } from './format.ts';
import { shownPath } from './render.ts';

const CHANGE_TEXT: Record<Change, string> = {
  none: 'unchanged',
  created: 'created',
  deleted: 'deleted',
  content: 'modified',
  meta: 'metadata changed',
  kind: 'replaced by another kind',
  unknown: 'modified',
};

const KEYS: Record<string, Choice> = { a: 'A', b: 'B', k: 'both', s: 'skip' };

/**
 * `--conflict prompt` on a terminal: shows each conflict (path, both versions, what each side
 * did) and asks keep A / keep B / keep both / skip; an upper-case answer applies to all the
 * remaining conflicts. End of input skips the rest (both sides stay untouched).
 */
export function terminalPrompter(
  input: NodeJS.ReadableStream,
  output: NodeJS.WritableStream,
  since: (c: Conflict) => string = (c) => (c.base ? 'since the last sync' : 'first sync'),
) {
  const rl = createInterface({ input, output, terminal: false });
  let all: Choice | undefined;
  let closed = false;
  const ended = new Promise<undefined>((done) =>
    rl.once('close', () => {
      closed = true;
      done(undefined);
    }),
  );
  const ask = async (c: Conflict, index: number, total: number): Promise<Choice> => {
    if (all) return all;
    if (closed) return 'skip';
    output.write(
      [
        '',
        `Conflict ${index} of ${total}: ${shownPath(c.path)}  (both sides changed it, ${since(c)})`,
        `  A: ${describe(c.a)}  ${CHANGE_TEXT[c.changeA]} on A`,
        `  B: ${describe(c.b)}  ${CHANGE_TEXT[c.changeB]} on B`,
        '',
      ].join('\n'),
    );
    for (;;) {
      let line: string | undefined;
      try {
        line = await Promise.race([
          rl.question(
            'Keep [a] A, [b] B, [k] both, [s] skip? (capital letter: same for all remaining) ',
          ),
          ended,
        ]);
      } catch {
        line = undefined;
      }
      if (line === undefined) return 'skip';
      const answer = line.trim();
      const choice = KEYS[answer.toLowerCase()];
      if (choice && answer.length === 1) {
        if (answer !== answer.toLowerCase()) all = choice;
        return choice;
      }
      if (closed) return 'skip';
      output.write(`  '${answer}' is not one of a, b, k, s (or A, B, K, S for all)\n`);
    }
  };
  return { ask, close: () => rl.close() };
}

function describe(e: Entry): string {
  const when = new Date(Number(e.mtimeNs / 1_000_000n))
    .toISOString()
    .replace('T', ' ')
    .slice(0, 19);
  if (e.kind === 'symlink') return `symlink -> ${e.target ?? ''}, modified ${when} UTC`;
  if (e.kind === 'dir') return `directory, modified ${when} UTC`;
  return `${formatBytes(e.size)}, modified ${when} UTC`;
}
