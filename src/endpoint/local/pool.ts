import type { Worker } from 'node:worker_threads';
import { ChangedDuringSync } from '../endpoint.ts';
import type { Copied, CopyJob } from './copy-file.ts';
import { TickQueue } from './fifo.ts';
import type { HashJob } from './hash-file.ts';
import { startWorker } from './start-worker.ts';

export type Task = { type: 'copy'; job: CopyJob } | { type: 'hash'; job: HashJob };

export type TaskResult =
  | { ok: true; value: unknown }
  | {
      ok: false;
      error: {
        name: string;
        message: string;
        code?: string | undefined;
        path?: string | undefined;
        side?: 'source' | 'target' | undefined;
      };
    };

type Pending = { resolve: (v: unknown) => void; reject: (e: unknown) => void };

interface Slot {
  worker: Worker;
  /** Tasks sent and not answered, in order (a worker answers its batches in order). */
  inFlight: Pending[][];
}

const MAX_CHUNK = 64;

/**
 * Worker threads running synchronous file copies and hashes, so both cores work at once: a small-file
 * copy is a dozen syscalls, and they spread over the workers. Tasks submitted in the same tick go as one message per worker, because a
 * message costs about as much as a small copy.
 */
export class WorkerPool {
  private readonly slots: Slot[] = [];
  private readonly queue = new TickQueue<{ task: Task; pending: Pending }>(() => this.pump());
  private readonly size: number;

  constructor(size: number) {
    this.size = size;
  }

  copy(job: CopyJob): Promise<Copied> {
    return this.submit({ type: 'copy', job }) as Promise<Copied>;
  }

  hash(job: HashJob): Promise<string> {
    return this.submit({ type: 'hash', job }) as Promise<string>;
  }

  async close(): Promise<void> {
    await Promise.all(this.slots.splice(0).map((s) => s.worker.terminate()));
  }

  private submit(task: Task): Promise<unknown> {
    return new Promise((resolve, reject) => {
      this.queue.push({ task, pending: { resolve, reject } });
    });
  }

  /**
   * Keeps each worker at most two chunks ahead: one running, one waiting, so it never idles
   * on a round trip, while the rest of the queue waits here to be dealt out in large chunks
   * (a message costs ~30 us, as much as a small copy).
   */
  private pump(): void {
    if (this.queue.length === 0) return;
    this.start();
    for (const slot of this.slots) {
      if (this.queue.length === 0) break;
      if (slot.inFlight.length >= 2) continue;
      const n = Math.min(MAX_CHUNK, Math.ceil(this.queue.length / this.slots.length));
      const part = this.queue.take(n);
      slot.inFlight.push(part.map((p) => p.pending));
      if (slot.inFlight.length === 1) slot.worker.ref();
      slot.worker.postMessage(part.map((p) => p.task));
    }
  }

  private start(): void {
    if (this.slots.length > 0) return;
    for (let i = 0; i < this.size; i++) {
      const worker = startWorker('worker');
      const slot: Slot = { worker, inFlight: [] };
      worker.on('message', (results: TaskResult[]) => {
        const pendings = slot.inFlight.shift() ?? [];
        // An idle worker must not keep the process alive.
        if (slot.inFlight.length === 0) worker.unref();
        this.queue.schedule();
        results.forEach((r, j) => {
          const p = pendings[j];
          if (!p) return;
          if (r.ok) p.resolve(r.value);
          else p.reject(rehydrate(r.error));
        });
      });
      worker.on('error', (err) => {
        for (const ps of slot.inFlight.splice(0)) for (const p of ps) p.reject(err);
      });
      worker.unref();
      this.slots.push(slot);
    }
  }
}

function rehydrate(e: Extract<TaskResult, { ok: false }>['error']): Error {
  if (e.name === 'ChangedDuringSync') return new ChangedDuringSync(e.side ?? 'target', e.message);
  const err = new Error(e.message) as NodeJS.ErrnoException;
  if (e.code !== undefined) err.code = e.code;
  if (e.path !== undefined) err.path = e.path;
  return err;
}
