import { WORDS } from '../../core/packed.ts';

/**
 * A growing buffer of packed entries (core/packed.ts), shared by the listings of a batch so
 * that a whole batch crosses threads as one transferred buffer. Structured clone of one
 * object per entry cost ~4 us each in the worker, as much as the lstat it reports (measured
 * on 50,000 files).
 */
export class PackWriter {
  private buf = new Int32Array(WORDS * 1024);
  /** Entries written. */
  count = 0;

  /** Word offset of a new entry's slot; `drop()` takes it back. */
  add(): number {
    const at = this.count * WORDS;
    if (at + WORDS > this.buf.length) {
      const grown = new Int32Array(this.buf.length * 2);
      grown.set(this.buf);
      this.buf = grown;
    }
    this.count++;
    return at;
  }

  /** The buffer `add` offsets index (replaced when it grows: fetch it after `add`). */
  words(): Int32Array {
    return this.buf;
  }

  drop(): void {
    this.count--;
  }

  /** A copy of the entries written, and a fresh start. */
  take(): Int32Array {
    const out = this.buf.slice(0, this.count * WORDS);
    this.count = 0;
    return out;
  }
}
