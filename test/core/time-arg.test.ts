import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { parseAge, parseTimeArg } from '../../src/core/time-arg.ts';

const NOW = Date.UTC(2026, 11, 1, 12, 0, 0);

describe('parseAge', () => {
  const cases: [string, number | undefined][] = [
    ['90m', 90 * 60_000],
    ['36h', 36 * 3_600_000],
    ['7d', 7 * 86_400_000],
    ['2w', 14 * 86_400_000],
    ['45s', 45_000],
    ['1.5h', 5_400_000],
    ['7', undefined],
    ['d', undefined],
    ['-7d', undefined],
    ['7 days', undefined],
  ];
  for (const [text, ms] of cases) test(`${text} -> ${ms}`, () => assert.equal(parseAge(text), ms));
});

describe('parseTimeArg', () => {
  test('an age counts back from now', () => {
    assert.equal(parseTimeArg('36h', NOW), NOW - 36 * 3_600_000);
  });
  test('ISO 8601 in UTC and with an offset', () => {
    assert.equal(parseTimeArg('2026-11-20T10:00:00Z', NOW), Date.UTC(2026, 10, 20, 10));
    assert.equal(parseTimeArg('2026-11-20T10:00:00+02:00', NOW), Date.UTC(2026, 10, 20, 8));
    assert.equal(
      parseTimeArg('2026-11-20T10:00:00.250Z', NOW),
      Date.UTC(2026, 10, 20, 10, 0, 0, 250),
    );
  });
  test('without an offset it is local time, a bare date local midnight', () => {
    assert.equal(parseTimeArg('2026-11-20T10:00', NOW), new Date(2026, 10, 20, 10).getTime());
    assert.equal(
      parseTimeArg('2026-11-20 10:00:05', NOW),
      new Date(2026, 10, 20, 10, 0, 5).getTime(),
    );
    assert.equal(parseTimeArg('2026-11-20', NOW), new Date(2026, 10, 20).getTime());
  });
  test('anything else is refused', () => {
    for (const bad of ['yesterday', '2026-13-45T10:00:00Z', '20261120', '', '10:00'])
      assert.equal(parseTimeArg(bad, NOW), undefined, bad);
  });
});
