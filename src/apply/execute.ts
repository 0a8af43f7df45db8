import { type Entry, type Meta, metaOf } from '../core/entry.ts';
import { basename, parent, type RelPath } from '../core/path.ts';
import { countOp, noCounts, type Operation, Phase, type PlanCounts } from '../core/plan.ts';
import { type Problem, type ProblemCode, problem } from '../core/problem.ts';
import { ChangedDuringSync, type Endpoint, type WriteSource } from '../endpoint/endpoint.ts';
import { errText } from '../errors.ts';
import type { Emit, Progress } from '../jobs/events.ts';

/** Copies handed to the endpoint at once. */
const BATCH = 64;
/** Copies larger than this look at the target root first (Executor.run). */
const LARGE_COPY = 1 << 20;

export interface ApplyResult {
  /** The operations done, in order (empty when the executor was told not to keep them). */
  done: Operation[];
  /** Summary counts of what was done (always kept). */
  counts: PlanCounts;
  problems: Problem[];
  bytesCopied: number;
}

export interface ApplyOptions {
  concurrency: number;
  /** The injected clock (ms), for throttling progress events. */
  now: () => number;
  signal?: AbortSignal | undefined;
  /** Keep every done operation in `result.done` (default true); counts are kept anyway. */
  keepDone?: boolean | undefined;
  /** Called after each operation that succeeded (two-way records its ancestor then). */
  onDone?: ((op: Operation) => void | Promise<void>) | undefined;
  /**
   * What to run instead of an operation that failed: a move's fallback is the creations and
   * deletions it stood for (S24: a move is an optimization, never a reason to lose or skip).
   */
  fallback?: ((op: Operation) => readonly Operation[] | undefined) | undefined;
  /** Gets the hash of a copied file's bytes, when the target took it while copying. */
  onHash?: ((op: Operation, hash: string) => void) | undefined;
  /**
   * A root of the run cannot keep modes (Capabilities.keepsModes): a write keeps the mode the
   * target entry has, and a new entry gets the usual 0644 or 0755, never the other root's bits.
   */
  ignoreModes?: boolean | undefined;
  /** Called once if the run stops part-way: its target vanished or filled up (Executor.stopped). */
  onStop?: (() => void) | undefined;
}

const NEW_FILE_MODE = 0o644;
const NEW_DIR_MODE = 0o755;

/**
 * Executes operations on the target. Each operation re-checks its precondition where the files
 * are (the endpoint does it, S16); a failure is a Problem for that path and the run goes on
 * (S17), except that nothing is attempted below a directory that could not be created.
 * Operations start in the order given, so a directory exists before anything is written into
 * it; file copies go in batches, several batches in flight (up to `concurrency` copies): a
 * batch reaches the worker pool in one tick, and the bookkeeping per copy stays one promise.
 * Operations can be added while earlier ones run (`add`), which lets copying start while the
 * scan goes on.
 */
export class Executor {
  readonly result: ApplyResult = { done: [], counts: noCounts(), problems: [], bytesCopied: 0 };
  private readonly progress: Progress = {
    filesDone: 0,
    filesTotal: 0,
    bytesDone: 0,
    bytesTotal: 0,
  };
  private readonly failedDirs = new Set<RelPath>();
  private readonly inFlight = new Set<Promise<unknown>>();
  private batch: Operation[] = [];
  private lastEmit = 0;
  private readonly direct: boolean;
  private readonly batchSize: number;
  private readonly window: number;
  private readonly src: Endpoint;
  private readonly dst: Endpoint;
  private readonly opts: ApplyOptions;
  private readonly emit: Emit;
  private readonly jobId: string;

  constructor(src: Endpoint, dst: Endpoint, opts: ApplyOptions, emit: Emit, jobId: string) {
    this.src = src;
    this.dst = dst;
    this.opts = opts;
    this.emit = emit;
    this.jobId = jobId;
    this.direct = src.localPath !== undefined && dst.localPath !== undefined;
    this.batchSize = Math.min(BATCH, opts.concurrency);
    this.window = Math.max(1, Math.ceil(opts.concurrency / this.batchSize));
    this.rootAtStart = this.rootIdentity();
    this.rootAtStart.catch(() => {});
  }

  /**
   * The target root's identity when the executor was made, before the scan: a mount point
   * unmounted between the scan and the first write would otherwise be taken as the root at the
   * first operation, and every write would go to the disk below it.
   */
  private readonly rootAtStart: Promise<string | undefined>;
  /** The first look at the root, which every operation waits for: true when it is gone. */
  private firstLook: Promise<boolean> | undefined;

  get aborted(): boolean {
    return this.stopped || (this.opts.signal?.aborted ?? false);
  }

  /**
   * The target root's identity (its device and kind) before the scan, or at the first
   * operation for a root this run made: a drive unplugged or unmounted mid-run leaves the path
   * missing, or its mount point's directory on the disk below, where nothing must be written.
   * Undefined when the root was not there: nothing to compare with.
   */
  private rootWas: string | undefined;
  /** Set once the target is found gone, replaced or full: nothing more is attempted. */
  stopped = false;
  /** What recording a done op threw (onDone): drain() throws it. */
  private failure: unknown;

  private async rootIdentity(): Promise<string | undefined> {
    if (this.dst.rootIdentity) return this.dst.rootIdentity();
    const e = await this.dst.stat('').catch(() => undefined);
    return e?.kind === 'dir' ? 'dir' : undefined;
  }

  /** Stops the run when the target root is no longer the one it started on. */
  private async checkRoot(): Promise<boolean> {
    if (this.stopped) return true;
    if (this.rootWas === undefined || (await this.rootIdentity()) === this.rootWas) return false;
    // Copies in flight fail together: one of them reports.
    if (this.stopped) return true;
    this.stop(
      problem(
        '',
        'root-vanished',
        'the target root vanished during the run (a drive unplugged or unmounted?): the run stopped, nothing more was written',
        { side: 'B', hint: 'reconnect it and run again: the next run finishes the job' },
      ),
    );
    return true;
  }

  /**
   * A full target fails every write after the first (as rsync, we stop there): one problem
   * instead of one per file, and the run ends consistent, the file that did not fit left out.
   */
  private targetFull(op: Operation, err: unknown): boolean {
    const errno = (err as NodeJS.ErrnoException).code;
    if (errno !== 'ENOSPC' && errno !== 'EDQUOT') return false;
    if (this.stopped) return true;
    const what = errno === 'ENOSPC' ? 'no space left' : 'over its disk quota';
    this.stop(
      problem(
        op.path,
        'target-full',
        `the target is full (${what}, ${errno}): the run stopped here, nothing was half-written`,
        { side: 'B', hint: 'free space on it, or exclude what does not fit, and run again' },
      ),
    );
    return true;
  }

  private stop(p: Problem): void {
    this.stopped = true;
    this.result.problems.push(p);
    this.emit({ type: 'problem', jobId: this.jobId, problem: p });
    this.opts.onStop?.();
  }

  /** Starts `op` after those added before it; resolves once it is under way (backpressure). */
  async add(op: Operation): Promise<void> {
    if (this.aborted) return;
    this.progress.filesTotal++;
    if (op.op === 'copy' && op.source?.kind === 'file') this.progress.bytesTotal += op.source.size;
    if (this.skip(op)) return;
    if (op.phase === Phase.Write && op.op === 'copy' && op.source?.kind === 'file') {
      this.batch.push(op);
      if (this.batch.length >= this.batchSize) await this.flush();
    } else {
      // A mkdir must be done before its children start; the rest is cheap and in order.
      await this.run(op);
    }
  }

  /** Waits for everything added so far; throws what stopped recording done ops, if anything. */
  async drain(): Promise<void> {
    if (this.batch.length > 0) await this.flush();
    await Promise.all(this.inFlight);
    if (this.failure !== undefined) throw this.failure;
  }

  private async flush(): Promise<void> {
    const p = Promise.all(this.batch.map((op) => this.run(op)));
    this.batch = [];
    this.inFlight.add(p);
    p.finally(() => this.inFlight.delete(p));
    while (this.inFlight.size >= this.window) await Promise.race(this.inFlight);
  }

  private skip(op: Operation): boolean {
    const below = op.path !== '' && this.failedDirs.has(parent(op.path));
    if (!below && !(op.op === 'set-meta' && this.failedDirs.has(op.path))) return false;
    // Nothing below a directory that could not be created: its problem says why.
    if (op.op === 'mkdir') this.failedDirs.add(op.path);
    this.progress.filesDone++;
    return true;
  }

  private async run(op: Operation): Promise<void> {
    const { result, progress, jobId } = this;
    if (this.stopped) return;
    // All the operations of the first batch wait for one look, not only the first of them.
    this.firstLook ??= (async () => {
      this.rootWas = (await this.rootAtStart.catch(() => undefined)) ?? (await this.rootIdentity());
      return this.checkRoot();
    })();
    if (await this.firstLook) return;
    // A large copy writes its whole size onto whatever the path shows now: after an unmount,
    // the disk below the mount point (a 300 MB file landed on / so). The root is looked at
    // before each one (a stat per large file); small writes are checked as they go.
    if (
      op.op === 'copy' &&
      op.source?.kind === 'file' &&
      op.source.size > LARGE_COPY &&
      (await this.checkRoot())
    )
      return;
    let bytes: number | undefined;
    try {
      bytes = await this.perform(op);
    } catch (err) {
      // A failure because the whole target went away, or filled up, is one problem, not one
      // per entry.
      if ((await this.checkRoot()) || this.targetFull(op, err)) return;
      const instead = this.opts.fallback?.(op);
      if (instead) {
        progress.filesDone++;
        for (const alt of instead) await this.add(alt);
        return;
      }
      if (op.op === 'mkdir') this.failedDirs.add(op.path);
      const p = toProblem(op, err, this.src.localPath?.(''));
      result.problems.push(p);
      this.emit({ type: 'problem', jobId, problem: p });
    }
    if (bytes !== undefined) {
      if (this.opts.keepDone !== false) result.done.push(op);
      try {
        await this.opts.onDone?.(op);
      } catch (err) {
        // Recording a done op (two-way's ancestors, a backup's catalog) failed: the state
        // store failed, not the op. Nothing more is started, and drain() throws that one
        // error, instead of each op done being reported as failed ("copy failed: database or
        // disk is full") while the store could not keep what was done.
        this.stopped = true;
        this.failure ??= err;
        return;
      }
      countOp(result.counts, op);
      result.bytesCopied += bytes;
      progress.bytesDone += bytes;
      this.emit({
        type: 'op',
        jobId,
        op: op.op,
        path: op.path,
        reason: op.reason,
        ...(bytes ? { size: bytes } : {}),
      });
    }
    progress.filesDone++;
    const now = this.opts.now();
    if (now - this.lastEmit >= 100 || progress.filesDone === progress.filesTotal) {
      this.lastEmit = now;
      // A mount point unmounted mid-run fails no write: what it showed is the disk below.
      if (await this.checkRoot()) return;
      this.emit({ type: 'progress', jobId, ...progress, current: op.path });
    }
  }

  private metaFor(op: Operation, s: Entry): Meta {
    const meta = metaOf(s);
    if (!this.opts.ignoreModes) return meta;
    const there = op.pre.type === 'same' && op.pre.entry.kind === s.kind ? op.pre.entry : undefined;
    meta.mode = there ? there.mode : s.kind === 'dir' ? NEW_DIR_MODE : NEW_FILE_MODE;
    return meta;
  }

  private async perform(op: Operation): Promise<number> {
    const { src, dst } = this;
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
        const { onHash } = this.opts;
        const source: WriteSource = this.direct
          ? {
              type: 'local-file',
              path: (src.localPath as (p: string) => string)(op.from ?? op.path),
              expect: s,
              ...(onHash ? { onHash: (h: string) => onHash(op, h) } : {}),
            }
          : { type: 'stream', data: src.read(op.from ?? op.path, s) };
        return dst.write(op.path, source, this.metaFor(op, s), op.pre);
      }
      case 'set-meta':
        await dst.setMeta(op.path, s.kind, this.metaFor(op, s), op.pre);
        return 0;
      case 'delete':
        await dst.remove(op.path, op.pre);
        return 0;
      case 'move':
        await dst.move(op.from as RelPath, op.path, op.pre);
        return 0;
    }
  }
}

/** Executes an ordered plan (orderPlan): phase by phase, each phase done before the next. */
export async function execute(
  ops: readonly Operation[],
  src: Endpoint,
  dst: Endpoint,
  opts: ApplyOptions,
  emit: Emit,
  jobId: string,
): Promise<ApplyResult> {
  const ex = new Executor(src, dst, opts, emit, jobId);
  await runPlan(ex, ops);
  return ex.result;
}

export async function runPlan(ex: Executor, ops: readonly Operation[]): Promise<void> {
  let phase = ops[0]?.phase;
  for (const op of ops) {
    if (ex.aborted) break;
    if (op.phase !== phase) {
      await ex.drain();
      phase = op.phase;
    }
    await ex.add(op);
  }
  await ex.drain();
}

/** How a file system without symlinks refuses one (exfat-fuse: ENOSYS; vfat: EPERM). */
const SYMLINK_UNSUPPORTED = new Set(['ENOSYS', 'EPERM', 'EOPNOTSUPP', 'ENOTSUP']);

/** Errors only a write meets: the target's fault, whatever path the error names. */
const WRITE_ONLY_ERRNOS = new Set(['ENOSPC', 'EDQUOT', 'EROFS', 'EFBIG']);

/** How FAT, exFAT and NTFS refuse a name (exfat-fuse: ENOENT; the kernel's exfat: EINVAL). */
const NAME_REFUSED = new Set(['ENOENT', 'EINVAL', 'EILSEQ', 'EPERM']);
/** Printable characters those file systems never accept in a name. */
const FAT_FORBIDDEN = /[\\:*?"<>|]/;

/** A name FAT, exFAT and NTFS never accept: a forbidden character, or a control character. */
function fatRefuses(name: string): boolean {
  if (FAT_FORBIDDEN.test(name)) return true;
  for (let i = 0; i < name.length; i++) if (name.charCodeAt(i) < 0x20) return true;
  return false;
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
  // copyFile names its source in `path` whichever side failed; these fail only on a write.
  const fromSource =
    errPath !== undefined &&
    srcRoot !== undefined &&
    errPath.startsWith(srcRoot) &&
    !WRITE_ONLY_ERRNOS.has(errno ?? '');
  if (errno === 'ENOTEMPTY' || errno === 'EEXIST') {
    code = 'not-empty';
    hint = 'it still holds excluded or unreadable entries; remove them or delete it by hand';
    return problem(op.path, code, 'directory not deleted: not empty', { side: 'B', hint });
  }
  if (fromSource) code = 'unreadable';
  if (errno === 'EACCES' || errno === 'EPERM') hint = 'check the permissions';
  if (op.op === 'copy' && op.source?.kind === 'symlink' && SYMLINK_UNSUPPORTED.has(errno ?? '')) {
    hint = 'the target file system cannot hold symlinks, as on exFAT or FAT: exclude the link';
  }
  let message = `${op.op} failed: ${errText(err)}`;
  if (!fromSource && NAME_REFUSED.has(errno ?? '') && fatRefuses(basename(op.path))) {
    // exfat-fuse answers ENOENT here, which reads as if something vanished.
    message = `${op.op} failed: the target file system refuses this name (${errno})`;
    hint =
      'FAT, exFAT and NTFS accept no \\ : * ? " < > | or control characters in names: rename it on A, or exclude it';
  }
  return problem(op.path, code, message, {
    side: code === 'unreadable' ? 'A' : 'B',
    ...(hint ? { hint } : {}),
  });
}
