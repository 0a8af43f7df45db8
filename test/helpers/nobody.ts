import { chownSync, lstatSync, readdirSync } from 'node:fs';
import { join } from 'node:path';

/** Root reads everything: permission tests run the CLI as `nobody` over a tree it owns. */
export const IS_ROOT = process.getuid?.() === 0;

export function giveToNobody(path: string): void {
  chownSync(path, 65534, 65534);
  if (lstatSync(path).isDirectory()) for (const n of readdirSync(path)) giveToNobody(join(path, n));
}
