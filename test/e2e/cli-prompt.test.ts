/**
 * `concord sync A B --conflict prompt`: refused with no terminal unless a fallback is given,
 * and answered by a person on a real terminal (the CLI runs inside tmux; the test types the
 * answers and reads the screen). S6: a skipped conflict leaves both sides untouched.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  utimesSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { setTimeout as delay } from 'node:timers/promises';
import { CLI } from '../helpers/tree.ts';
import {
  cli,
  contents,
  counts,
  fingerprint,
  type Roots,
  roots,
  type Spec,
  summaryOf,
  T1,
  T2,
  T3,
  trashStamps,
} from './helpers.ts';

type Ctx = Parameters<typeof roots>[0];

function put(root: string, rel: string, content: string, mtime: number): void {
  const p = join(root, rel);
  mkdirSync(join(p, '..'), { recursive: true });
  writeFileSync(p, content);
  utimesSync(p, mtime, mtime);
}

function utcStamp(seconds: number): string {
  const iso = new Date(seconds * 1000).toISOString();
  return `${iso.slice(0, 4)}${iso.slice(5, 7)}${iso.slice(8, 10)}-${iso.slice(11, 13)}${iso.slice(14, 16)}${iso.slice(17, 19)}`;
}

/** What a root's trash holds, all runs together: path -> content. */
function trashed(root: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const stamp of trashStamps(root))
    for (const [rel, seen] of Object.entries(contents(join(root, '.concord', 'trash', stamp))))
      if (seen.kind === 'file') out[rel] = seen.content as string;
  return out;
}

const aText = (n: number) => `A's edit of c${n}`;
const bText = (n: number) => `B's edit of c${n}, longer`;

/**
 * `n` conflicts: c1.txt .. cn.txt synced, then edited on both sides, A's edit the newer (T3),
 * B's the older (T2). Plus a file only A changed, which is no conflict and just propagates.
 */
async function conflicts(t: Ctx, n: number): Promise<Roots> {
  const spec: Spec = { 'plain.txt': { content: 'plain', mtime: T1 } };
  for (let i = 1; i <= n; i++) spec[`c${i}.txt`] = { content: `base ${i}`, mtime: T1 };
  const r = roots(t, spec);
  const first = await cli(['sync', r.A, r.B]);
  assert.equal(first.code, 0, first.stderr);
  for (let i = 1; i <= n; i++) {
    put(r.A, `c${i}.txt`, aText(i), T3);
    put(r.B, `c${i}.txt`, bText(i), T2);
  }
  put(r.A, 'plain.txt', 'plain, edited on A', T3);
  return r;
}

describe('--conflict prompt with no terminal', () => {
  test('exit 2, one line naming --conflict-fallback, nothing changed on either side', async (t) => {
    const { dir, A, B } = await conflicts(t, 2);
    const before = fingerprint(dir);
    const r = await cli(['sync', A, B, '--conflict', 'prompt']); // stdin is not a terminal
    assert.equal(r.code, 2, r.stderr);
    assert.equal(r.stdout, '');
    const lines = r.stderr.trim().split('\n');
    assert.equal(lines.length, 1, r.stderr);
    assert.match(lines[0] as string, /^concord: /);
    assert.match(lines[0] as string, /2 conflicts need a decision/);
    assert.match(lines[0] as string, /--conflict-fallback/);
    // Not even the change that is no conflict (plain.txt) was made: the run was refused whole.
    assert.deepEqual(fingerprint(dir), before);
  });

  test("with --conflict-fallback keep-source it resolves: A wins, B's versions in B's trash", async (t) => {
    const { A, B } = await conflicts(t, 2);
    const r = await cli([
      'sync',
      A,
      B,
      '--conflict',
      'prompt',
      '--conflict-fallback',
      'keep-source',
      '--json',
    ]);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(counts(r).conflicts, 2);
    const want = {
      'c1.txt': { kind: 'file', content: aText(1) },
      'c2.txt': { kind: 'file', content: aText(2) },
      'plain.txt': { kind: 'file', content: 'plain, edited on A' },
    };
    assert.deepEqual(contents(A), want);
    assert.deepEqual(contents(B), want);
    // The losers, and the plain.txt that A's edit replaced (overwritten files go to the trash).
    assert.deepEqual(trashed(B), { 'c1.txt': bText(1), 'c2.txt': bText(2), 'plain.txt': 'plain' });
  });

  test('with no conflict to ask about, a prompt run just syncs', async (t) => {
    const { A, B } = await conflicts(t, 0);
    const r = await cli(['sync', A, B, '--conflict', 'prompt']);
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(contents(B), contents(A));
  });
});

/**
 * One tmux server of its own (its own socket, no user configuration) running one command on a
 * 200x50 terminal. The pane stays after the command ends, so its last screen can be read.
 */
class Terminal {
  private readonly socket: string;
  private readonly conf: string;
  readonly rcFile: string;

  constructor(t: Ctx) {
    const dir = mkdtempSync(join(tmpdir(), 'concord-tmux-'));
    this.socket = join(dir, 'sock');
    this.conf = join(dir, 'tmux.conf');
    this.rcFile = join(dir, 'exit-code');
    writeFileSync(this.conf, 'set -g remain-on-exit on\nset -g history-limit 10000\n');
    // One hook, in this order: the server (kept alive by remain-on-exit) is reached through
    // its socket, so it is stopped before the folder holding the socket goes.
    t.after(() => {
      try {
        this.tmux('kill-server');
      } catch {}
      rmSync(dir, { recursive: true, force: true });
    });
  }

  private tmux(...args: string[]): string {
    return execFileSync('tmux', ['-S', this.socket, '-f', this.conf, ...args], {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'pipe'],
    });
  }

  /** Runs `concord ARGS` on the terminal; its exit status goes to `rcFile`. */
  start(args: string[]): void {
    const q = (s: string) => `'${s.replaceAll("'", `'\\''`)}'`;
    const command = [
      `CONCORD_HOME=${q(process.env.CONCORD_HOME as string)}`,
      q(process.execPath),
      q(CLI),
      ...args.map(q),
    ].join(' ');
    this.tmux(
      'new-session',
      '-d',
      '-s',
      'concord',
      '-x',
      '200',
      '-y',
      '50',
      `${command}; echo $? > ${q(this.rcFile)}`,
    );
  }

  /** Everything the terminal has shown, scrollback included. */
  screen(): string {
    return this.tmux('capture-pane', '-p', '-J', '-S', '-', '-t', 'concord');
  }

  /** Types `keys` (tmux key names: 'a', 'Enter', 'C-c'). */
  send(...keys: string[]): void {
    this.tmux('send-keys', '-t', 'concord', ...keys);
  }

  /** Polls the screen until `ready` holds, for at most `ms`; returns the screen. */
  async waitFor(ready: (screen: string) => boolean, what: string, ms = 20_000): Promise<string> {
    const deadline = Date.now() + ms;
    for (;;) {
      const s = this.screen();
      if (ready(s)) return s;
      if (Date.now() > deadline) assert.fail(`timed out waiting for ${what}; the screen:\n${s}`);
      await delay(20);
    }
  }

  /** Waits for the command to end; its exit status. */
  async exitCode(ms = 20_000): Promise<number> {
    const deadline = Date.now() + ms;
    for (;;) {
      if (existsSync(this.rcFile)) {
        const text = readFileSync(this.rcFile, 'utf8');
        if (text.endsWith('\n')) return Number(text.trim());
      }
      if (Date.now() > deadline)
        assert.fail(`timed out waiting for the command to end; the screen:\n${this.screen()}`);
      await delay(20);
    }
  }
}

const QUESTION = 'Keep [a] A, [b] B, [k] both, [s] skip? (capital letter: same for all remaining) ';
const count = (s: string, needle: string) => s.split(needle).length - 1;

/** Waits for question number `n` and returns the path of the conflict it asks about. */
async function question(term: Terminal, n: number): Promise<string> {
  const screen = await term.waitFor((s) => count(s, QUESTION.trimEnd()) >= n, `question ${n}`);
  const asked = [
    ...screen.matchAll(
      /^Conflict (\d+) of (\d+): (\S+) {2}\(both sides changed it, since the last sync\)$/gm,
    ),
  ];
  const last = asked.at(-1);
  assert.ok(last, screen);
  return last[3] as string;
}

describe('--conflict prompt on a real terminal (tmux)', () => {
  test('a, b, k, s for four conflicts, then K for the remaining two: each applied, the skipped one untouched, exit 3 (S6, S7)', async (t) => {
    const { A, B } = await conflicts(t, 6);
    const term = new Terminal(t);
    term.start(['sync', A, B, '--conflict', 'prompt']);

    const answered: Record<string, string> = {};
    // Something that is not an answer is asked again, with what the answers are.
    const first = await question(term, 1);
    const screen1 = term.screen();
    assert.match(screen1, new RegExp(`Conflict 1 of 6: ${first.replace('.', '\\.')} `));
    assert.match(screen1, /^ {2}A: 14 B, modified 2023-11-14 22:13:20 UTC {2}modified on A$/m);
    assert.match(screen1, /^ {2}B: 22 B, modified 2022-04-15 05:20:00 UTC {2}modified on B$/m);
    term.send('x', 'Enter');
    await term.waitFor((s) => s.includes("'x' is not one of a, b, k, s"), 'the re-ask');
    let asked = 2;
    assert.equal(await question(term, asked), first, 'the same conflict is asked again');
    for (const key of ['a', 'b', 'k', 's']) {
      const path = await question(term, asked);
      answered[path] = key;
      term.send(key, 'Enter');
      asked++;
    }
    const path = await question(term, asked);
    answered[path] = 'K';
    term.send('K', 'Enter');
    assert.equal(await term.exitCode(), 3, term.screen());

    const screen = term.screen();
    assert.equal(count(screen, 'Conflict '), 5, `K answered the sixth too:\n${screen}`);
    assert.match(screen, /conflict left unresolved/);
    for (let i = 1; i <= 6; i++) {
      const p = `c${i}.txt`;
      if (!(p in answered)) answered[p] = 'K (the one after)';
    }
    assert.deepEqual(
      Object.values(answered).sort(),
      ['K', 'K (the one after)', 'a', 'b', 'k', 's'].sort(),
    );

    const a = contents(A);
    const b = contents(B);
    const file = (content: string) => ({ kind: 'file', content });
    const trashA = trashed(A);
    const trashB = trashed(B);
    for (const [p, key] of Object.entries(answered)) {
      const n = Number(/c(\d)\.txt/.exec(p)?.[1]);
      const aside = `c${n}.conflict-B-${utcStamp(T2)}.txt`;
      switch (key) {
        case 'a': // A's version on both; B's in B's trash
          assert.deepEqual([a[p], b[p]], [file(aText(n)), file(aText(n))], p);
          assert.equal(trashB[p], bText(n));
          break;
        case 'b': // B's version on both; A's in A's trash
          assert.deepEqual([a[p], b[p]], [file(bText(n)), file(bText(n))], p);
          assert.equal(trashA[p], aText(n));
          break;
        case 's': // untouched on both sides (S6)
          assert.deepEqual([a[p], b[p]], [file(aText(n)), file(bText(n))], p);
          assert.equal(a[aside], undefined);
          assert.equal(b[aside], undefined);
          assert.equal(trashA[p], undefined);
          assert.equal(trashB[p], undefined);
          break;
        default: // k, K and the one K applied to: both kept, the newer (A's) under the name
          assert.deepEqual([a[p], b[p]], [file(aText(n)), file(aText(n))], p);
          assert.deepEqual([a[aside], b[aside]], [file(bText(n)), file(bText(n))], aside);
      }
    }
    // The change that was no conflict went through.
    assert.deepEqual(b['plain.txt'], file('plain, edited on A'));

    // The skipped conflict is asked about again next time; a policy settles it.
    const skipped = Object.entries(answered).find(([, k]) => k === 's')?.[0] as string;
    const again = await cli(['sync', A, B, '--conflict', 'keep-destination', '--json']);
    assert.equal(again.code, 0, again.stderr);
    assert.equal(summaryOf(again).conflicts, 1);
    assert.deepEqual(contents(A)[skipped], contents(B)[skipped]);
    const n = Number(/c(\d)\.txt/.exec(skipped)?.[1]);
    assert.deepEqual(contents(A)[skipped], file(bText(n)));
  });

  test('S on the first conflict skips them all: both sides untouched, exit 3, each listed', async (t) => {
    const { A, B } = await conflicts(t, 3);
    const before = { A: contents(A), B: contents(B) };
    const term = new Terminal(t);
    term.start(['sync', A, B, '--conflict', 'prompt']);
    await question(term, 1);
    term.send('S', 'Enter');
    assert.equal(await term.exitCode(), 3, term.screen());
    const screen = term.screen();
    assert.equal(count(screen, QUESTION.trimEnd()), 1, 'asked once');
    for (const p of ['c1.txt', 'c2.txt', 'c3.txt'])
      assert.match(screen, new RegExp(`${p.replace('.', '\\.')}: conflict left unresolved`));
    const after = { A: contents(A), B: contents(B) };
    for (const p of ['c1.txt', 'c2.txt', 'c3.txt']) {
      assert.deepEqual(after.A[p], before.A[p]);
      assert.deepEqual(after.B[p], before.B[p]);
    }
    assert.deepEqual(trashStamps(A), []);
    // Only what the change that was no conflict replaced: no conflict's version went anywhere.
    assert.deepEqual(trashed(B), { 'plain.txt': 'plain' });
    assert.deepEqual(after.B['plain.txt'], { kind: 'file', content: 'plain, edited on A' });
  });

  test('A on the first conflict: A wins them all, exit 0', async (t) => {
    const { A, B } = await conflicts(t, 3);
    const term = new Terminal(t);
    term.start(['sync', A, B, '--conflict', 'prompt']);
    await question(term, 1);
    term.send('A', 'Enter');
    assert.equal(await term.exitCode(), 0, term.screen());
    for (let i = 1; i <= 3; i++) {
      assert.deepEqual(contents(B)[`c${i}.txt`], { kind: 'file', content: aText(i) });
      assert.equal(trashed(B)[`c${i}.txt`], bText(i));
    }
    assert.deepEqual(contents(A), contents(B));
  });

  test('Ctrl-C at the question: exit 130, nothing changed', async (t) => {
    const { dir, A, B } = await conflicts(t, 2);
    const before = fingerprint(dir);
    const term = new Terminal(t);
    term.start(['sync', A, B, '--conflict', 'prompt']);
    await question(term, 1);
    term.send('C-c');
    assert.equal(await term.exitCode(), 130, term.screen());
    assert.deepEqual(fingerprint(dir), before);
  });
});
