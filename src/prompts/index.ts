/** Prompt methods (one module each, same shape) and their ViT-level configs and parameter counts. */
export * from './config.js';
export * from './method.js';
export * from './vpt.js';
export * from './e2vpt.js';
export * from './vapt.js';
export * from './head-prompt.js';
export * from './contract.js';
