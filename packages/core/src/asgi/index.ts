export * from './types.js';
export * from './scope.js';
export * from './events.js';
