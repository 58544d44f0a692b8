export * from './diff.js';
export * from './undo-stack.js';
