import type { Worker } from 'node:worker_threads';
import type { FilterSpec } from '../../core/filter.ts';
import { WORDS } from '../../core/packed.ts';
import type { RelPath } from '../../core/path.ts';
import type { PackedListing } from '../endpoint.ts';
import { Handout } from './handout.ts';
import { startWorker } from './start-worker.ts';
import type { WalkData, WalkMessage } from './walk-worker.ts';

/** Walker threads started ahead of need (prestartWalkers), not yet given a root. */
const spare: { worker: Worker; onError: () => void }[] = [];

function startWalker(): Worker {
  return startWorker('walk-worker');
}

function takeWalker(): Worker {
  const s = spare.pop();
  if (!s) return startWalker();
  s.worker.off('error', s.onError);
  s.worker.ref();
  return s.worker;
}

/**
 * Starts up to `n` walker threads now, before any root is known: a thread and its modules
 * take ~50-80 ms to start, which then overlaps the main thread's own start-up. Threads not
 * used keep no process alive; one that fails before it is used is dropped.
 */
export function prestartWalkers(n: number): void {
  while (spare.length < n) {
    const worker = startWalker();
    worker.unref();
    const entry = {
      worker,
      onError: () => {
        const i = spare.indexOf(entry);
        if (i >= 0) spare.splice(i, 1);
      },
    };
    worker.on('error', entry.onError);
    spare.push(entry);
  }
}

/**
 * A whole-root walk on its own thread, running ahead of the engine: the engine's `list(dir)`
 * takes the listing from here (waiting if the walker has not reached it yet), so both roots
 * are walked at once, each on its own core, while the engine compares. A listing is handed
 * out once and then dropped.
 */
export class WalkAhead {
  private readonly handout = new Handout();
  private done = false;
  private failure: Error | undefined;
  private readonly worker: Worker;

  constructor(root: string, filter: FilterSpec) {
    this.worker = takeWalker();
    this.worker.postMessage({ root, filter } satisfies WalkData);
    this.worker.on('message', (m: WalkMessage) => {
      if (m.type === 'done') return this.finish();
      let at = 0;
      m.dirs.forEach((dir, i) => {
        const end = at + (m.counts[i] as number) * WORDS;
        const rest = m.rests[i] || undefined;
        const l: PackedListing = {
          packed: {
            names: m.names[i] as string,
            words: m.words.subarray(at, end),
            targets: rest?.targets ?? [],
          },
          problems: rest?.problems ?? [],
          complete: rest?.complete ?? true,
        };
        if (rest?.leftovers) l.leftovers = rest.leftovers;
        at = end;
        this.handout.give(dir, l);
      });
    });
    this.worker.on('error', (err) => {
      this.failure = err;
      this.finish();
    });
  }

  /** The listing of `dir`, or undefined when the walk will never produce it (list it directly). */
  async take(dir: RelPath): Promise<PackedListing | undefined> {
    const l = this.handout.take(dir);
    if (l) return l;
    if (this.done) {
      if (this.failure) throw this.failure;
      return undefined;
    }
    return this.handout.wait(dir);
  }

  async close(): Promise<void> {
    await this.worker.terminate();
  }

  /** A walker that failed fails the run: a silent fallback would hide the bug. */
  private finish(): void {
    this.done = true;
    this.handout.endWaits(this.failure);
  }
}
