import { BoxPromptTool } from './box-prompt-tool.js';
import { BoxTool } from './box-tool.js';
import { BrushTool } from './brush-tool.js';
import { PolygonTool } from './polygon-tool.js';
import { SelectTool } from './select-tool.js';
import type { Tool, ToolContext, ToolName } from './tool.js';
import { VertexTool } from './vertex-tool.js';

export * from './tool.js';
export * from './hit-test.js';
export * from './handles.js';
export { SelectTool, BoxTool, BoxPromptTool, PolygonTool, BrushTool, VertexTool };

/** One of each tool, sharing the session's context. */
export function createTools(ctx: ToolContext): Record<ToolName, Tool> {
  return {
    select: new SelectTool(ctx), box: new BoxTool(ctx), prompt: new BoxPromptTool(ctx), polygon: new PolygonTool(ctx), vertices: new VertexTool(ctx),
    brush: new BrushTool(ctx, false), eraser: new BrushTool(ctx, true),
  };
}
