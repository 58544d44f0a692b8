export * from './ids.js';
export * from './types.js';
