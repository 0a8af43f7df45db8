import { Worker, type WorkerOptions } from 'node:worker_threads';

/**
 * Starts the worker module `name` (beside this file) on a thread. From the compiled build it
 * is `name.js`. From the TypeScript sources (the tests run them through tsx) it is `name.ts`,
 * and a worker does not inherit tsx's loader hooks on Node 20: it registers them itself first.
 */
export function startWorker(name: string, options: WorkerOptions = {}): Worker {
  const ts = import.meta.url.endsWith('.ts');
  const url = new URL(`./${name}${ts ? '.ts' : '.js'}`, import.meta.url);
  if (!ts) return new Worker(url, options);
  const boot = `import('tsx/esm/api').then((m) => m.register()).then(() => import(${JSON.stringify(url.href)}))`;
  return new Worker(boot, { ...options, eval: true });
}
