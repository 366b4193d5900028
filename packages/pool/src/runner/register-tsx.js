// Registers tsx in the calling thread, for the thread entries (worker-entry.js,
// helper-entry.js) and for calls.ts when a thread first loads a .ts function.
// Plain JavaScript, so the entries can import it before any TypeScript loads.

const REGISTERED = Symbol.for('tsgi.tsxRegistered');

/** Whether tsx is registered in this thread (by registerTsx). */
export function tsxRegistered() {
  return globalThis[REGISTERED] === true;
}

/** Registers tsx's hooks in this thread once: ESM for ES modules, CommonJS for .ts files outside a "type": "module" package. */
export async function registerTsx() {
  if (tsxRegistered()) return;
  const [esm, cjs] = await Promise.all([import('tsx/esm/api'), import('tsx/cjs/api')]);
  if (tsxRegistered()) return;
  esm.register();
  cjs.register();
  globalThis[REGISTERED] = true;
}
