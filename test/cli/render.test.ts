import assert from 'node:assert/strict';
import { PassThrough } from 'node:stream';
import { test } from 'node:test';
import { humanRenderer, LIVE_PROBLEMS, problemLine, shownPath } from '../../src/cli/render.ts';
import { problem } from '../../src/core/problem.ts';
import type { Summary } from '../../src/engine/oneway.ts';
import { ZERO } from '../e2e/helpers.ts';

/** A stream that keeps what is written to it, as a terminal or a pipe would show it. */
function sink(isTTY: boolean) {
  const s = new PassThrough() as PassThrough & { isTTY?: boolean; text: () => string };
  const chunks: string[] = [];
  s.on('data', (c) => chunks.push(String(c)));
  s.isTTY = isTTY;
  s.text = () => chunks.join('');
  return s;
}

function summaryWith(n: number): Summary {
  const problems = Array.from({ length: n }, (_, i) =>
    problem(`f${i}`, 'write-failed', 'copy failed: no space left on device (ENOSPC)', {
      side: 'B',
    }),
  );
  return {
    type: 'summary',
    jobId: 'j',
    mode: 'mirror',
    dryRun: false,
    ...ZERO,
    durationMs: 1,
    hashed: 0,
    hashReused: 0,
    problems,
  };
}

for (const count of [3, 2000]) {
  test(`${count} problems on a terminal: at most ${LIVE_PROBLEMS} printed as they happen, and the summary lists them when they were not all shown`, async () => {
    const stdout = sink(true);
    const stderr = sink(true);
    const r = humanRenderer({ stdout, stderr }, () => 0);
    const s = summaryWith(count);
    for (const p of s.problems) r.event({ type: 'problem', jobId: 'j', problem: p });
    r.summary(s, 'mirror A -> B');
    await new Promise((resolve) => setImmediate(resolve));
    const live = stderr
      .text()
      .split('\n')
      .filter((l) => l.includes('ENOSPC'));
    assert.equal(live.length, Math.min(count, LIVE_PROBLEMS));
    const more = stderr.text().includes('more problems; the summary counts them');
    assert.equal(more, count > LIVE_PROBLEMS);
    const out = stdout.text();
    if (count > LIVE_PROBLEMS) {
      assert.match(out, /2,000 problems: skipped entries were left as they are:/);
      assert.match(out, /\.\.\. and 1980 more \(--json lists them all\)/);
    } else assert.match(out, /3 problems: skipped entries were left as they are \(listed above\)/);
  });
}

test('a name holding a newline or another control character is shown escaped, on one line', () => {
  assert.equal(shownPath('dir/a\nb\tc\x01d\x7f'), 'dir/a\\nb\\tc\\x01d\\x7f');
  assert.equal(shownPath('plain/é 名.txt'), 'plain/é 名.txt');
  // C1 controls: U+009B starts an escape sequence on some terminals. U+00A0 on is text.
  assert.equal(shownPath('a\u009b31mb\u0085c\u00a0d'), 'a\\u009b31mb\\u0085c\u00a0d');
  const line = problemLine(problem('a\nb', 'write-failed', 'copy failed', { side: 'B' }));
  assert.equal(line, 'concord: B a\\nb: copy failed');
  assert.equal(line.includes('\n'), false);
});
