export * from './tool.js';
export * from './hit-test.js';
export { SelectTool } from './select-tool.js';
export { BoxTool } from './box-tool.js';
export { PolygonTool } from './polygon-tool.js';
export { BrushTool } from './brush-tool.js';
export { VertexTool } from './vertex-tool.js';
