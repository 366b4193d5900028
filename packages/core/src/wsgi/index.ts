export * from './types.js';
export * from './checks.js';
export * from './validate.js';
export * from './environ.js';
export * from './input.js';
export * from './call.js';
