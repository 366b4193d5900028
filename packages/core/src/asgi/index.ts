export * from './types.js';
export * from './scope.js';
export * from './events.js';
export * from './http-cycle.js';
export * from './websocket-cycle.js';
export * from './lifespan-cycle.js';
export * from './validate.js';
