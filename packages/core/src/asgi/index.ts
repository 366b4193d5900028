export * from './types.js';
export * from './scope.js';
