export * from './ids.js';
export * from './errors.js';
export * from './types.js';
export * from './providers.js';
export * from './short-names.js';
