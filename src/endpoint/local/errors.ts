/** "permission denied (EACCES)" from a Node system error; the path is named by the caller. */
export function errText(err: unknown): string {
  if (!(err instanceof Error)) return String(err);
  const code = (err as NodeJS.ErrnoException).code;
  if (code === undefined) return err.message;
  const m = /^[A-Z0-9_]+: ([^,]+)/.exec(err.message);
  return `${m?.[1] ?? err.message} (${code})`;
}
