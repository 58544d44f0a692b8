// Drag a box around an object (./box-drag.ts); the model's heads segment it and classify it
// (renderer/editor/prompts.ts), and their answer is one add edit. Several boxes may be on their way at once.
import type { Bbox } from '../../../app/model/index.js';
import { BoxDragTool } from './box-drag.js';

export class BoxPromptTool extends BoxDragTool {
  readonly name = 'prompt';

  protected finish(box: Bbox): void {
    const prompt = this.ctx.prompt;
    if (!prompt || prompt.unavailable !== null) return this.ctx.say(prompt?.unavailable ?? 'Box prompts need a model.');
    prompt.add(box);
  }

  cursor(): string {
    return this.ctx.prompt?.unavailable === null ? 'crosshair' : 'not-allowed';
  }
}
