/**
 * Error classes a replay can give back. A restored error is made from its recorded data, so without help it is an
 * instance of its nearest built-in class only, and `e instanceof ApiError` in the handler would change its answer
 * after a crash. The compiler registers every class that workflow code tests with `instanceof` (at the end of the
 * module that tests it, `__akts.errorClasses(...)`); a restored error whose recorded class name matches exactly one
 * registered class gets that class's prototype back.
 */

/**
 * Class name → the class, or null when two registered classes share the name (then neither is guessed). One map
 * per process, shared through a registered symbol: a bundle's copy of the runtime registers, the runner's restores.
 */
const SHARED = Symbol.for("akts.errorClasses");
const registered: Map<string, Function | null> = ((globalThis as { [SHARED]?: Map<string, Function | null> })[SHARED] ??= new Map());

export function registerErrorClasses(list: () => unknown[]): void {
  let classes: unknown[];
  try {
    classes = list();
  } catch {
    // A reference that does not evaluate at module end (an import that is not a class, say) registers nothing.
    return;
  }
  for (const c of classes) {
    if (typeof c !== "function" || !(c.prototype instanceof Error)) continue;
    const known = registered.get(c.name);
    registered.set(c.name, known === undefined || known === c ? c : null);
  }
}

export function registeredErrorClass(name: string): Function | undefined {
  return registered.get(name) ?? undefined;
}
