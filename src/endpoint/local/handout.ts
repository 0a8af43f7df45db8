import type { RelPath } from '../../core/path.ts';
import type { PackedListing } from '../endpoint.ts';

type Waiter = { resolve: (l: PackedListing | undefined) => void; reject: (e: Error) => void };

/**
 * The listings a walk ahead of the engine produced, each handed out once: to the engine if it
 * already waits for that directory, else kept until it asks. Both walks (WalkAhead on a
 * thread, NativeWalkAhead on libuv's pool) hand out through this.
 */
export class Handout {
  private readonly ready = new Map<RelPath, PackedListing>();
  private readonly waiting = new Map<RelPath, Waiter>();

  give(dir: RelPath, l: PackedListing): void {
    const w = this.waiting.get(dir);
    if (w) {
      this.waiting.delete(dir);
      w.resolve(l);
    } else this.ready.set(dir, l);
  }

  /** The listing of `dir` if it arrived, handed out now (and dropped here). */
  take(dir: RelPath): PackedListing | undefined {
    const l = this.ready.get(dir);
    if (l) this.ready.delete(dir);
    return l;
  }

  wait(dir: RelPath): Promise<PackedListing | undefined> {
    return new Promise((resolve, reject) => this.waiting.set(dir, { resolve, reject }));
  }

  /** Ends every wait: with the walk's error, or with undefined (the engine lists it itself). */
  endWaits(err?: Error): void {
    for (const w of this.waiting.values()) {
      if (err) w.reject(err);
      else w.resolve(undefined);
    }
    this.waiting.clear();
  }

  /** Ends every wait with undefined and drops what was not taken. */
  clear(): void {
    this.endWaits();
    this.ready.clear();
  }
}
