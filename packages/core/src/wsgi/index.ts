export * from './types.js';
export * from './checks.js';
