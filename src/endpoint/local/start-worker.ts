import { createRequire } from 'node:module';
import type { Worker, WorkerOptions } from 'node:worker_threads';

// Loaded when a thread is first started: most runs start none, and node:worker_threads costs
// ~5 ms to load here.
const threads = () =>
  createRequire(import.meta.url)('node:worker_threads') as typeof import('node:worker_threads');

/**
 * Starts the worker module `name` (beside this file) on a thread. From the compiled build it
 * is `name.js`. From the TypeScript sources (the tests run them through tsx) it is `name.ts`,
 * and a worker does not inherit tsx's loader hooks on Node 20: it registers them itself first.
 */
export function startWorker(name: string, options: WorkerOptions = {}): Worker {
  const ts = import.meta.url.endsWith('.ts');
  const url = new URL(`./${name}${ts ? '.ts' : '.js'}`, import.meta.url);
  const { Worker } = threads();
  if (!ts) return new Worker(url, options);
  const boot = `import('tsx/esm/api').then((m) => m.register()).then(() => import(${JSON.stringify(url.href)}))`;
  return new Worker(boot, { ...options, eval: true });
}
