/** @tsgi/core: the types of WSGI-TS and ASGI-TS, byte-string helpers, validators and test clients. Servers build on `@tsgi/core/server`. */
export * from './bytes.js';
export * from './errors.js';
export type { ServerAddress, ServerHandle, ModuleRef } from './server/handle.js';
export * from './asgi/index.js';
export * from './wsgi/index.js';
export * from './testing/index.js';
