import type { Problem } from '../core/problem.ts';

/**
 * A run's id in its events: 12 hex digits, from Math.random. It tells one run's events from
 * another's, and guards nothing, so no node:crypto (node-crypto.ts) for it.
 */
export function newJobId(): string {
  return Math.floor(Math.random() * 2 ** 48)
    .toString(16)
    .padStart(12, '0');
}

export type PhaseName = 'scan' | 'plan' | 'apply' | 'done';

export interface Progress {
  filesDone: number;
  filesTotal: number;
  bytesDone: number;
  bytesTotal: number;
  /** The path being worked on, when there is one. */
  current?: string;
}

/** What a run reports as it goes; `--json` prints each as one NDJSON line. */
export type RunEvent =
  | { type: 'phase'; jobId: string; phase: PhaseName }
  | { type: 'scan'; jobId: string; dirs: number; entries: number; current?: string }
  | ({ type: 'progress'; jobId: string } & Progress)
  | { type: 'op'; jobId: string; op: string; path: string; reason: string; size?: number }
  | { type: 'problem'; jobId: string; problem: Problem };

export type Emit = (event: RunEvent) => void;
