import { parentPort } from 'node:worker_threads';
import { ChangedDuringSync } from '../endpoint.ts';
import { copyFileAtomic } from './copy-file.ts';
import { FileHasher } from './hash-file.ts';
import type { Task, TaskResult } from './pool.ts';

const hasher = new FileHasher();

/** A pool worker: runs batches of synchronous file-system tasks, answers with one batch. */
async function run(task: Task): Promise<TaskResult> {
  try {
    switch (task.type) {
      case 'copy':
        return {
          ok: true,
          value: copyFileAtomic(task.job, task.job.hash ? await hasher.bytesHasher() : undefined),
        };
      case 'hash':
        return { ok: true, value: await hasher.hash(task.job) };
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

// Batches are answered in the order they came: the pool matches answers to tasks by order.
let chain = Promise.resolve();
parentPort?.on('message', (batch: Task[]) => {
  chain = chain.then(async () => {
    const results: TaskResult[] = [];
    for (const task of batch) results.push(await run(task));
    parentPort?.postMessage(results);
  });
});
