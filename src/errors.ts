/**
 * Run-level trouble: the run cannot go on (or must not start). Per-path trouble is a
 * Problem (core/problem.ts) instead. The code decides the exit status.
 */
export type ErrorCode =
  | 'usage' // unknown option, bad value, missing argument
  | 'bad-root' // missing, not a directory, overlapping roots, parent missing
  | 'guard' // a guard rail refused the run (max-delete, ...)
  | 'not-implemented'
  | 'state' // the state database cannot be used (corrupt, newer schema, unwritable)
  | 'locked' // another run holds a root's lock
  | 'failed'; // anything else that stopped the run

export class ConcordError extends Error {
  readonly code: ErrorCode;
  readonly path: string | undefined;
  readonly hint: string | undefined;

  constructor(
    code: ErrorCode,
    message: string,
    opts: { path?: string; hint?: string; cause?: unknown } = {},
  ) {
    super(message, opts.cause === undefined ? undefined : { cause: opts.cause });
    this.name = 'ConcordError';
    this.code = code;
    this.path = opts.path;
    this.hint = opts.hint;
  }

  /**
   * The one line the CLI prints: `path: message (hint)`. One line even when a path in it holds
   * a newline: control characters are escaped as in every other line the CLI prints.
   */
  line(): string {
    const head = this.path === undefined ? this.message : `${this.path}: ${this.message}`;
    return oneLine(this.hint === undefined ? head : `${head} (${this.hint})`);
  }
}

/** Text as one line: a newline or other control character (in a name) is escaped. */
export function oneLine(text: string): string {
  let out = '';
  for (const ch of text) {
    const c = ch.charCodeAt(0);
    // C1 controls too: some terminals take U+009B as the start of an escape sequence.
    if (c >= 0x20 && c !== 0x7f && (c < 0x80 || c > 0x9f)) out += ch;
    else if (ch === '\n') out += '\\n';
    else if (ch === '\t') out += '\\t';
    else if (c < 0x80) out += `\\x${c.toString(16).padStart(2, '0')}`;
    else out += `\\u${c.toString(16).padStart(4, '0')}`;
  }
  return out;
}

export const EXIT = {
  ok: 0,
  failed: 1,
  usage: 2,
  unresolved: 3,
  interrupted: 130,
} as const;

/** Problem codes of a run that stopped part-way: its target vanished or filled up. */
const STOPPED_RUN: ReadonlySet<string> = new Set(['root-vanished', 'target-full']);

/** The run stopped part-way: what it did not reach it did not see (no trash expiry, no record). */
export function stoppedPartWay(problems: readonly { code: string }[]): boolean {
  return problems.some((p) => STOPPED_RUN.has(p.code));
}

/**
 * The exit code of a run that finished with `problems`: 1 when it stopped part-way (a root
 * vanished, a target filled up), 3 when entries were left as they were, else 0.
 */
export function exitOfRun(problems: readonly { code: string }[]): number {
  if (stoppedPartWay(problems)) return EXIT.failed;
  return problems.length > 0 ? EXIT.unresolved : EXIT.ok;
}

export function exitCodeOf(err: unknown): number {
  if (!(err instanceof ConcordError)) return EXIT.failed;
  switch (err.code) {
    case 'usage':
    case 'bad-root':
    case 'guard':
    case 'not-implemented':
      return EXIT.usage;
    case 'state':
    case 'locked':
    case 'failed':
      return EXIT.failed;
  }
}
/** "permission denied (EACCES)" from a Node system error; the path is named by the caller. */
export function errText(err: unknown): string {
  if (!(err instanceof Error)) return String(err);
  const code = (err as NodeJS.ErrnoException).code;
  if (code === undefined) return err.message;
  const m = /^[A-Z0-9_]+: ([^,]+)/.exec(err.message);
  return `${m?.[1] ?? err.message} (${code})`;
}
