/**
 * One HTTP byte range (RFC 9110 §14.1.2) against a file of `size` bytes: `bytes=a-b`, `bytes=a-`,
 * `bytes=-n`. Undefined means "ignore the header and send it all" (malformed, or several ranges,
 * which players do not ask for); "unsatisfiable" means 416.
 */
export function parseRange(header: string, size: number): { start: number; end: number } | "unsatisfiable" | undefined {
  const match = /^bytes=(\d*)-(\d*)$/.exec(header.trim());
  if (!match) return undefined;
  const [, from, to] = match as unknown as [string, string, string];
  if (from === "" && to === "") return undefined;
  if (from === "") {
    const suffix = Number(to);
    if (suffix === 0 || size === 0) return "unsatisfiable";
    return { start: Math.max(0, size - suffix), end: size - 1 };
  }
  const start = Number(from);
  const end = to === "" ? size - 1 : Math.min(Number(to), size - 1);
  if (to !== "" && Number(to) < start) return undefined;
  if (start >= size) return "unsatisfiable";
  return { start, end };
}
