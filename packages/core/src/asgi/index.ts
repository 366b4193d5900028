/**
 * ASGI-TS in @tsgi/core: the types (types.ts), scope building (scope.ts), the
 * shape of single events (events.ts), the sans-IO state machines every
 * transport drives (http-cycle.ts, websocket-cycle.ts, lifespan-cycle.ts) and
 * the validator middleware (validate.ts). Spec: spec/asgi.md.
 */
export * from './types.js';
export * from './scope.js';
export * from './events.js';
export * from './http-cycle.js';
export * from './websocket-cycle.js';
export * from './lifespan-cycle.js';
export * from './validate.js';
