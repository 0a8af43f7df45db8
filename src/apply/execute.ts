import type { Entry } from '../core/entry.ts';
import { metaOf } from '../core/entry.ts';
import { parent, type RelPath } from '../core/path.ts';
import { type Operation, Phase } from '../core/plan.ts';
import { type Problem, type ProblemCode, problem } from '../core/problem.ts';
import { ChangedDuringSync, type Endpoint, type WriteSource } from '../endpoint/endpoint.ts';
import { errText } from '../errors.ts';
import type { Emit, Progress } from '../jobs/events.ts';

/** Copies handed to the endpoint at once. */
const BATCH = 64;

export interface ApplyResult {
  done: Operation[];
  problems: Problem[];
  bytesCopied: number;
}

export interface ApplyOptions {
  concurrency: number;
  /** The injected clock (ms), for throttling progress events. */
  now: () => number;
  signal?: AbortSignal | undefined;
}

/**
 * Executes an ordered plan on the target. Each operation re-checks its precondition where the
 * files are (the endpoint does it, S16); a failure is a Problem for that path and the run goes
 * on (S17), except that nothing is attempted below a directory that could not be created.
 * File copies run up to `concurrency` at a time; phases do not overlap.
 */
export async function execute(
  ops: readonly Operation[],
  src: Endpoint,
  dst: Endpoint,
  opts: ApplyOptions,
  emit: Emit,
  jobId: string,
): Promise<ApplyResult> {
  const result: ApplyResult = { done: [], problems: [], bytesCopied: 0 };
  const progress: Progress = { filesDone: 0, filesTotal: ops.length, bytesDone: 0, bytesTotal: 0 };
  for (const op of ops)
    if (op.op === 'copy' && op.source?.kind === 'file') progress.bytesTotal += op.source.size;
  const failedDirs = new Set<RelPath>();
  const direct = src.localPath !== undefined && dst.localPath !== undefined;
  let lastEmit = 0;

  const report = (current: string) => {
    const now = opts.now();
    if (now - lastEmit < 100 && progress.filesDone < progress.filesTotal) return;
    lastEmit = now;
    emit({ type: 'progress', jobId, ...progress, current });
  };

  const run = async (op: Operation) => {
    try {
      const bytes = await perform(op);
      result.done.push(op);
      result.bytesCopied += bytes;
      progress.bytesDone += bytes;
      emit({
        type: 'op',
        jobId,
        op: op.op,
        path: op.path,
        reason: op.reason,
        ...(bytes ? { size: bytes } : {}),
      });
    } catch (err) {
      if (op.op === 'mkdir') failedDirs.add(op.path);
      const p = toProblem(op, err, src.localPath?.(''));
      result.problems.push(p);
      emit({ type: 'problem', jobId, problem: p });
    }
    progress.filesDone++;
    report(op.path);
  };

  const perform = async (op: Operation): Promise<number> => {
    const s = op.source as Entry;
    switch (op.op) {
      case 'mkdir':
        await dst.mkdir(op.path, op.pre);
        return 0;
      case 'copy': {
        if (s.kind === 'symlink') {
          await dst.symlink(op.path, s.target ?? '', metaOf(s), op.pre);
          return 0;
        }
        const source: WriteSource = direct
          ? {
              type: 'local-file',
              path: (src.localPath as (p: string) => string)(op.path),
              expect: s,
            }
          : { type: 'stream', data: src.read(op.path, s) };
        return dst.write(op.path, source, metaOf(s), op.pre);
      }
      case 'set-meta':
        await dst.setMeta(op.path, s.kind, metaOf(s), op.pre);
        return 0;
      case 'delete':
        await dst.remove(op.path, op.pre);
        return 0;
    }
  };

  // Phases run one after the other, and within a phase operations start in plan order (so a
  // directory exists before anything is written into it). File copies of the Write phase go
  // in batches, several batches in flight: a batch reaches the worker pool in one tick, and
  // the per-operation bookkeeping stays small (one promise per copy, none per lane).
  const batchSize = Math.min(BATCH, opts.concurrency);
  const window = Math.max(1, Math.ceil(opts.concurrency / batchSize));
  const skip = (op: Operation): boolean => {
    const below = op.path !== '' && failedDirs.has(parent(op.path));
    if (!below && !(op.op === 'set-meta' && failedDirs.has(op.path))) return false;
    // Nothing below a directory that could not be created: its problem says why.
    if (op.op === 'mkdir') failedDirs.add(op.path);
    progress.filesDone++;
    return true;
  };
  for (let start = 0; start < ops.length && !opts.signal?.aborted; ) {
    const phase = (ops[start] as Operation).phase;
    const inFlight = new Set<Promise<unknown>>();
    let batch: Operation[] = [];
    const flush = async () => {
      const p = Promise.all(batch.map(run));
      batch = [];
      inFlight.add(p);
      p.finally(() => inFlight.delete(p));
      while (inFlight.size >= window) await Promise.race(inFlight);
    };
    for (; start < ops.length && (ops[start] as Operation).phase === phase; start++) {
      if (opts.signal?.aborted) break;
      const op = ops[start] as Operation;
      if (skip(op)) continue;
      if (phase === Phase.Write && op.op === 'copy' && op.source?.kind === 'file') {
        batch.push(op);
        if (batch.length >= batchSize) await flush();
      } else {
        // A mkdir must be done before its children start; the rest is cheap and in order.
        await run(op);
      }
    }
    if (batch.length > 0) await flush();
    await Promise.all(inFlight);
  }
  return result;
}

function toProblem(op: Operation, err: unknown, srcRoot: string | undefined): Problem {
  let code: ProblemCode = 'write-failed';
  let hint: string | undefined;
  if (err instanceof ChangedDuringSync) {
    code = 'changed-during-sync';
    hint = 'left as it is; the next run picks it up';
    return problem(
      op.path,
      code,
      err.message.replace(/^.*? (changed|appeared|vanished|is no longer)/, '$1'),
      {
        side: err.side === 'source' ? 'A' : 'B',
        hint,
      },
    );
  }
  const errno = (err as NodeJS.ErrnoException).code;
  const errPath = (err as NodeJS.ErrnoException).path;
  const fromSource = errPath !== undefined && srcRoot !== undefined && errPath.startsWith(srcRoot);
  if (errno === 'ENOTEMPTY' || errno === 'EEXIST') {
    code = 'not-empty';
    hint = 'it still holds excluded or unreadable entries; remove them or delete it by hand';
    return problem(op.path, code, 'directory not deleted: not empty', { side: 'B', hint });
  }
  if (fromSource) code = 'unreadable';
  if (errno === 'EACCES' || errno === 'EPERM') hint = 'check the permissions';
  if (errno === 'ENOSPC') hint = 'the target is full: free space and run again';
  return problem(op.path, code, `${op.op} failed: ${errText(err)}`, {
    side: code === 'unreadable' ? 'A' : 'B',
    ...(hint ? { hint } : {}),
  });
}
