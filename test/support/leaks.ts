/**
 * Resources a test file opened and must close. The root hooks fail the run if any is
 * still open when all tests are done, so a forgotten pool or server is a red test,
 * not a hung CI.
 */
const open = new Set<string>();

export function track(name: string): () => void {
  const id = `${name} #${open.size + 1}`;
  open.add(id);
  return () => open.delete(id);
}

export function openResources(): string[] {
  return [...open];
}
