/** @tsgi/core: the types of WSGI-TS and ASGI-TS, byte-string helpers, validators and test clients. */
export * from './bytes.js';
export * from './errors.js';
export * from './server.js';
export * from './asgi/index.js';
export * from './wsgi/index.js';
export * from './testing/index.js';
export * from './proxy-headers.js';
export * from './server-options.js';
export * from './id-table.js';
