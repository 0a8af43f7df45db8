import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { Fifo, TickQueue } from '../../src/endpoint/local/fifo.ts';

test('Fifo hands items out in the order pushed, as an array model does (property)', () => {
  const op = fc.oneof(
    fc.record({ push: fc.integer({ min: 1, max: 3000 }) }),
    fc.record({ take: fc.integer({ min: 0, max: 3000 }) }),
  );
  fc.assert(
    fc.property(fc.array(op, { maxLength: 40 }), (ops) => {
      const q = new Fifo<number>();
      const model: number[] = [];
      let next = 0;
      for (const o of ops) {
        if ('push' in o) {
          for (let i = 0; i < o.push; i++) {
            q.push(next);
            model.push(next++);
          }
        } else {
          assert.deepEqual(q.take(o.take), model.splice(0, o.take));
        }
        assert.equal(q.length, model.length);
      }
    }),
    { numRuns: 300 },
  );
});

test('TickQueue pumps once for everything pushed in one tick, and again when asked', async () => {
  const batches: number[][] = [];
  const q: TickQueue<number> = new TickQueue<number>(() => batches.push(q.take(q.length)));
  for (let i = 0; i < 5; i++) q.push(i);
  assert.deepEqual(batches, []);
  await Promise.resolve();
  assert.deepEqual(batches, [[0, 1, 2, 3, 4]]);
  q.push(5);
  q.schedule();
  await Promise.resolve();
  assert.deepEqual(batches, [[0, 1, 2, 3, 4], [5]]);
});
