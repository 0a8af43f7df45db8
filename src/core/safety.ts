/**
 * Guard-rail decisions, pure: the engine gathers the facts (resolved paths, counts) and these
 * say whether the run may go on.
 */

/** How two resolved absolute roots relate: the same directory, one inside the other, or apart. */
export function rootsOverlap(a: string, b: string): 'same' | 'b-inside-a' | 'a-inside-b' | null {
  const x = trimSlash(a);
  const y = trimSlash(b);
  if (x === y) return 'same';
  if (y.startsWith(x === '/' ? '/' : `${x}/`)) return 'b-inside-a';
  if (x.startsWith(y === '/' ? '/' : `${y}/`)) return 'a-inside-b';
  return null;
}

function trimSlash(p: string): string {
  return p.length > 1 && p.endsWith('/') ? p.slice(0, -1) : p;
}

/** --max-delete N: refuse a run that would delete more than N entries (S20). */
export function exceedsMaxDelete(planned: number, max: number | undefined): boolean {
  return max !== undefined && planned > max;
}
