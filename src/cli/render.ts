import type { Problem } from '../core/problem.ts';
import type { Summary } from '../engine/oneway.ts';
import { oneLine } from '../errors.ts';
import type { RunEvent } from '../jobs/events.ts';
import { formatBytes, formatCount, formatDuration, toJson } from './format.ts';

export interface Out {
  stdout: NodeJS.WritableStream & { isTTY?: boolean; columns?: number };
  stderr: NodeJS.WritableStream & { isTTY?: boolean; columns?: number };
}

export interface Renderer {
  event(e: RunEvent): void;
  summary(s: Summary, label: string): void;
}

/** --json: every event as one NDJSON line on stdout, the summary last. */
export function jsonRenderer(out: Out): Renderer {
  return {
    event: (e) => out.stdout.write(`${toJson(e)}\n`),
    summary: (s) => out.stdout.write(`${toJson(s)}\n`),
  };
}

/** Problems printed as they happen, at most; the rest are counted in the summary. */
export const LIVE_PROBLEMS = 50;

/**
 * People: on a TTY a live status line on stderr (phase, files and bytes done of total, rate,
 * ETA, current file); otherwise quiet. Problems are listed as they happen, the summary last.
 */
export function humanRenderer(out: Out, now: () => number): Renderer {
  const live = out.stderr.isTTY === true;
  let shown = false;
  let problemsPrinted = 0;
  let applyStart = 0;
  const clear = () => {
    if (shown) out.stderr.write('\r\x1b[2K');
    shown = false;
  };
  const status = (text: string) => {
    const width = (out.stderr.columns ?? 80) - 1;
    out.stderr.write(`\r\x1b[2K${text.length > width ? `${text.slice(0, width - 1)}…` : text}`);
    shown = true;
  };
  return {
    event(e) {
      if (e.type === 'problem') {
        clear();
        // A full disk fails every write after it: a screenful says so, not thousands of lines.
        if (problemsPrinted < LIVE_PROBLEMS) out.stderr.write(`${problemLine(e.problem)}\n`);
        else if (problemsPrinted === LIVE_PROBLEMS)
          out.stderr.write(
            'concord: more problems; the summary counts them, --json lists them all\n',
          );
        problemsPrinted++;
        return;
      }
      if (!live) return;
      if (e.type === 'scan') {
        status(
          `scanning  ${formatCount(e.dirs)} dirs  ${formatCount(e.entries)} entries  ${shownPath(e.current ?? '')}`,
        );
      } else if (e.type === 'phase' && e.phase === 'apply') {
        applyStart = now();
      } else if (e.type === 'progress') {
        const secs = Math.max((now() - applyStart) / 1000, 0.001);
        const rate = e.bytesDone / secs;
        const left = e.bytesTotal - e.bytesDone;
        const eta = rate > 0 && left > 0 ? `  ETA ${formatDuration((left / rate) * 1000)}` : '';
        status(
          `applying  ${formatCount(e.filesDone)}/${formatCount(e.filesTotal)} ops  ` +
            `${formatBytes(e.bytesDone)}/${formatBytes(e.bytesTotal)}  ${formatBytes(rate)}/s${eta}  ${shownPath(e.current ?? '')}`,
        );
      } else if (e.type === 'phase' && e.phase === 'done') {
        clear();
      }
    },
    summary(s, label) {
      clear();
      // On one terminal the problems were just printed as they happened: count them only.
      const listed =
        out.stdout.isTTY === true && out.stderr.isTTY === true && problemsPrinted <= LIVE_PROBLEMS;
      out.stdout.write(`${summaryText(s, label, listed)}\n`);
    },
  };
}

export function problemLine(p: Problem): string {
  const side = p.side ? `${p.side} ` : '';
  return `concord: ${side}${shownPath(p.path) || '.'}: ${p.message}${p.hint ? ` (${p.hint})` : ''}`;
}

/** A path as one line of text: a newline or other control character in a name is escaped. */
export const shownPath = oneLine;

export function summaryText(s: Summary, label: string, problemsShown = false): string {
  const verb = s.dryRun ? 'would be ' : '';
  const parts = [
    `${formatCount(s.created)} created`,
    `${formatCount(s.updated)} updated`,
    `${formatCount(s.deleted)} deleted`,
    `${formatCount(s.metadataUpdated)} metadata-only`,
  ];
  if (s.moved > 0) parts.splice(3, 0, `${formatCount(s.moved)} moved`);
  if (s.mode === 'two-way') parts.push(`${formatCount(s.conflicts)} conflicts resolved`);
  const lines = [
    `${label}${s.dryRun ? ' (dry run: nothing changed)' : ''}`,
    `  ${parts.join(', ')}${verb ? ` (${verb.trim()})` : ''}`,
    `  ${formatBytes(s.bytesCopied)} ${s.dryRun ? 'to copy' : 'copied'} in ${formatDuration(s.durationMs)}`,
  ];
  const n = s.problems.length;
  const problems = `${formatCount(n)} problem${n === 1 ? '' : 's'}: skipped entries were left as they are`;
  if (n > 0 && problemsShown) lines.push(`  ${problems} (listed above)`);
  if (n > 0 && !problemsShown) {
    lines.push(`  ${problems}:`);
    for (const p of s.problems.slice(0, 20))
      lines.push(`    ${problemLine(p).replace(/^concord: /, '')}`);
    if (s.problems.length > 20)
      lines.push(`    ... and ${s.problems.length - 20} more (--json lists them all)`);
  }
  return lines.join('\n');
}
