import { parentPort } from 'node:worker_threads';
import { ChangedDuringSync } from '../endpoint.ts';
import { copyFileAtomic } from './copy-file.ts';
import type { Task, TaskResult } from './pool.ts';

/** A pool worker: runs batches of synchronous file-system tasks, answers with one batch. */
function run(task: Task): TaskResult {
  try {
    switch (task.type) {
      case 'copy':
        return { ok: true, value: copyFileAtomic(task.job) };
    }
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    return {
      ok: false,
      error: {
        name: e.name,
        message: e.message,
        code: e.code,
        path: e.path,
        side: err instanceof ChangedDuringSync ? err.side : undefined,
      },
    };
  }
}

parentPort?.on('message', (batch: Task[]) => {
  parentPort?.postMessage(batch.map(run));
});
