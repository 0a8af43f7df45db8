import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import {
  basename,
  compareNames,
  comparePaths,
  cutUtf8,
  isWithin,
  join,
  numberedName,
  parent,
  relPathError,
  utf8Length,
} from '../../src/core/path.ts';

const sign = (n: number) => Math.sign(n);

// U+FFFD is the last BMP character used here; U+1F600 is astral. UTF-16 puts the astral one
// first (surrogate 0xD83D < 0xFFFD), UTF-8 puts it last (0xF0 > 0xEF): listings use UTF-8.
const BMP_HIGH = '\uFFFD';
const ASTRAL = '\u{1F600}';

describe('compareNames: UTF-8 byte order', () => {
  const cases: { name: string; a: string; b: string; expect: -1 | 0 | 1 }[] = [
    { name: 'equal names are 0', a: 'same', b: 'same', expect: 0 },
    { name: 'equal non-ASCII names are 0', a: 'é😀', b: 'é😀', expect: 0 },
    { name: "upper case sorts before lower case: 'Z' < 'a'", a: 'Z', b: 'a', expect: -1 },
    { name: "a prefix sorts first: 'a' < 'ab'", a: 'a', b: 'ab', expect: -1 },
    { name: "'a-' < 'a.': '-' is 2D, '.' is 2E", a: 'a-', b: 'a.', expect: -1 },
    { name: "any ASCII sorts before non-ASCII: 'z' < 'é'", a: 'é', b: 'z', expect: 1 },
    { name: "'é' (C3 A9) < 'ë' (C3 AB)", a: 'é', b: 'ë', expect: -1 },
    {
      name: 'precomposed é (C3 A9) sorts after decomposed e + U+0301 (65 CC 81)',
      a: '\u00e9',
      b: 'e\u0301',
      expect: 1,
    },
    {
      name: 'BMP U+FFFD sorts before astral U+1F600 (UTF-16 order says the opposite)',
      a: BMP_HIGH,
      b: ASTRAL,
      expect: -1,
    },
    { name: 'the same, swapped', a: ASTRAL, b: BMP_HIGH, expect: 1 },
    {
      name: 'fullwidth U+FF5A sorts before an astral CJK ideograph U+20000',
      a: '\uFF5A',
      b: '\u{20000}',
      expect: -1,
    },
    { name: 'a shared non-ASCII prefix, then ASCII decides', a: 'éa', b: 'éb', expect: -1 },
    { name: 'a non-ASCII prefix sorts first', a: 'é', b: 'éa', expect: -1 },
  ];
  for (const c of cases) {
    test(c.name, () => {
      assert.equal(sign(compareNames(c.a, c.b)), c.expect);
      assert.equal(sign(compareNames(c.b, c.a)), -c.expect || 0);
    });
  }

  test('sorting with it gives the byte order of the UTF-8 encodings', () => {
    const names = [ASTRAL, 'a', 'é', BMP_HIGH, 'Z', 'ab', '\uFF5A', 'e\u0301', '_'];
    const byBytes = [...names].sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b)));
    assert.deepEqual([...names].sort(compareNames), byBytes);
    assert.deepEqual(byBytes, ['Z', '_', 'a', 'ab', 'e\u0301', 'é', '\uFF5A', BMP_HIGH, ASTRAL]);
  });
});

describe('comparePaths: parent-first, segment by segment', () => {
  const cases: { name: string; a: string; b: string; expect: -1 | 0 | 1 }[] = [
    { name: 'the root sorts before everything', a: '', b: 'a', expect: -1 },
    { name: 'the root equals itself', a: '', b: '', expect: 0 },
    { name: 'a directory sorts right before its children', a: 'a', b: 'a/b', expect: -1 },
    { name: 'children of a sort before a sibling b', a: 'a/z', b: 'b', expect: -1 },
    {
      name: "'a/b' < 'a-b' although '-' (2D) < '/' (2F) as plain strings",
      a: 'a/b',
      b: 'a-b',
      expect: -1,
    },
    {
      name: "'a/b' < 'a.txt': the segment 'a' is a prefix of 'a.txt'",
      a: 'a/b',
      b: 'a.txt',
      expect: -1,
    },
    {
      name: 'deeper paths compare by their first differing segment',
      a: 'x/a/z',
      b: 'x/b',
      expect: -1,
    },
    { name: 'segments compare in UTF-8 order', a: `d/${BMP_HIGH}`, b: `d/${ASTRAL}`, expect: -1 },
    { name: 'equal paths are 0', a: 'a/b/c', b: 'a/b/c', expect: 0 },
  ];
  for (const c of cases) {
    test(c.name, () => {
      assert.equal(sign(comparePaths(c.a, c.b)), c.expect);
      assert.equal(sign(comparePaths(c.b, c.a)), -c.expect || 0);
    });
  }

  test('sorting a tree puts every directory right before its subtree', () => {
    const paths = ['b', 'a-b', 'a/b', 'a', '', 'a/b/c', 'a.txt', 'a/a'];
    assert.deepEqual([...paths].sort(comparePaths), [
      '',
      'a',
      'a/a',
      'a/b',
      'a/b/c',
      'a-b',
      'a.txt',
      'b',
    ]);
  });
});

describe('relPathError', () => {
  const cases: { name: string; path: string; expect: string | undefined }[] = [
    { name: 'the root is valid', path: '', expect: undefined },
    { name: 'a plain name is valid', path: 'a', expect: undefined },
    { name: 'a nested path is valid', path: 'a/b/c.txt', expect: undefined },
    { name: 'dot files are valid', path: '.hidden/.x', expect: undefined },
    { name: "'...' is a name, not a dot segment", path: 'a/.../b', expect: undefined },
    { name: 'a backslash is an ordinary POSIX character', path: 'a\\b', expect: undefined },
    { name: 'non-ASCII names are valid', path: `é/${ASTRAL}`, expect: undefined },
    { name: 'an absolute path is refused', path: '/etc/passwd', expect: 'is absolute' },
    { name: "'/' alone is absolute", path: '/', expect: 'is absolute' },
    { name: 'a NUL byte is refused', path: 'a\0b', expect: 'contains a NUL byte' },
    { name: 'a double slash is an empty segment', path: 'a//b', expect: 'has an empty segment' },
    { name: 'a trailing slash is an empty segment', path: 'a/', expect: 'has an empty segment' },
    { name: "'.' alone is refused", path: '.', expect: "has a '.' segment" },
    { name: "a leading './' is refused", path: './a', expect: "has a '.' segment" },
    { name: "'..' alone is refused", path: '..', expect: "has a '..' segment" },
    { name: "'..' in the middle is refused", path: 'a/../b', expect: "has a '..' segment" },
    { name: "'..' at the end is refused", path: 'a/..', expect: "has a '..' segment" },
  ];
  for (const c of cases) {
    test(c.name, () => assert.equal(relPathError(c.path), c.expect));
  }
});

describe('isWithin', () => {
  const cases: { name: string; path: string; dir: string; expect: boolean }[] = [
    { name: 'a directory is within itself', path: 'a', dir: 'a', expect: true },
    { name: 'a child is within its parent', path: 'a/b', dir: 'a', expect: true },
    { name: 'a grandchild is within', path: 'a/b/c', dir: 'a', expect: true },
    { name: 'everything is within the root', path: 'a/b', dir: '', expect: true },
    { name: 'the root is within the root', path: '', dir: '', expect: true },
    { name: 'the root is not within a directory', path: '', dir: 'a', expect: false },
    {
      name: "a name sharing a prefix is not within: 'ab' in 'a'",
      path: 'ab',
      dir: 'a',
      expect: false,
    },
    { name: "'a-b/c' is not within 'a'", path: 'a-b/c', dir: 'a', expect: false },
    { name: 'a parent is not within its child', path: 'a', dir: 'a/b', expect: false },
    { name: 'a sibling is not within', path: 'b/c', dir: 'a', expect: false },
  ];
  for (const c of cases) {
    test(c.name, () => assert.equal(isWithin(c.path, c.dir), c.expect));
  }
});

describe('join, parent, basename', () => {
  const cases: { path: string; dir: string; name: string }[] = [
    { path: 'a', dir: '', name: 'a' },
    { path: 'a/b', dir: 'a', name: 'b' },
    { path: 'a/b/c.txt', dir: 'a/b', name: 'c.txt' },
    { path: `é/${ASTRAL}`, dir: 'é', name: ASTRAL },
  ];
  for (const c of cases) {
    test(`'${c.path}' is join('${c.dir}', '${c.name}') and splits back`, () => {
      assert.equal(join(c.dir, c.name), c.path);
      assert.equal(parent(c.path), c.dir);
      assert.equal(basename(c.path), c.name);
    });
  }

  test('the root is its own parent and has an empty basename', () => {
    assert.equal(parent(''), '');
    assert.equal(basename(''), '');
  });
});

describe('numberedName: `~N` after the last name, which gives way to fit NAME_MAX', () => {
  const cases: [string, string, number, string][] = [
    ['a short name: as it always was', 'trash/run/a.txt', 2, 'trash/run/a.txt~2'],
    ['no directory part', 'a', 12, 'a~12'],
    ['253 bytes fit with ~2 whole', `d/${'n'.repeat(253)}`, 2, `d/${'n'.repeat(253)}~2`],
    ['254 bytes lose one', `d/${'n'.repeat(254)}`, 2, `d/${'n'.repeat(253)}~2`],
    ['~10 takes one more byte', `d/${'n'.repeat(254)}`, 10, `d/${'n'.repeat(252)}~10`],
    ['two-byte characters go whole', `d/${'é'.repeat(127)}`, 2, `d/${'é'.repeat(126)}~2`],
  ];
  for (const [name, path, n, want] of cases)
    test(name, () => {
      const got = numberedName(path, n);
      assert.equal(got, want);
      assert.ok(Buffer.byteLength(got.slice(got.lastIndexOf('/') + 1)) <= 255);
    });
});

describe('utf8Length and cutUtf8: names measured and cut in bytes of UTF-8', () => {
  const rows: { s: string; bytes: number; max: number; cut: string }[] = [
    { s: 'abc', bytes: 3, max: 2, cut: 'ab' },
    { s: 'abc', bytes: 3, max: 3, cut: 'abc' },
    { s: 'éé', bytes: 4, max: 3, cut: 'é' }, // not 'é' plus half of the next one
    { s: '日本', bytes: 6, max: 5, cut: '日' },
    { s: `a${ASTRAL}`, bytes: 5, max: 4, cut: 'a' }, // the surrogate pair goes whole
    { s: `a${ASTRAL}`, bytes: 5, max: 5, cut: `a${ASTRAL}` },
    { s: 'x', bytes: 1, max: 0, cut: '' },
  ];
  for (const r of rows) {
    test(`${JSON.stringify(r.s)} is ${r.bytes} bytes; cut to ${r.max}: ${JSON.stringify(r.cut)}`, () => {
      assert.equal(utf8Length(r.s), r.bytes);
      assert.equal(cutUtf8(r.s, r.max), r.cut);
    });
  }

  test('any string, any limit: the longest prefix that fits, on a code point boundary', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'grapheme', maxLength: 20 }), fc.nat({ max: 80 }), (s, max) => {
        assert.equal(utf8Length(s), Buffer.byteLength(s, 'utf8'));
        const cut = cutUtf8(s, max);
        assert.ok(s.startsWith(cut));
        assert.ok(Buffer.byteLength(cut, 'utf8') <= max);
        assert.equal(Buffer.from(cut, 'utf8').toString('utf8'), cut, 'valid UTF-8');
        const next = [...s.slice(cut.length)][0];
        if (next !== undefined) assert.ok(utf8Length(cut + next) > max, 'longest');
      }),
    );
  });
});
