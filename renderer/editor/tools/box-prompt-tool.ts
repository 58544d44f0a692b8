// Drag a box around an object; the model's heads segment it and classify it (renderer/editor/prompts.ts). States:
//   idle ──press──> pointing ──drag──> drawing ──release──> idle (the box goes to the model; its answer is one add edit)
//                            ──release──> idle (a click asks nothing)
// Several boxes may be on their way at once; Escape drops the one being drawn.
import { clampBbox } from '../../../app/geometry/bbox.js';
import { distance, type ImagePoint } from '../../../app/geometry/points.js';
import { boxBetween, DRAG_DISTANCE, type Preview, type Tool, type ToolContext, type ToolPointer } from './tool.js';

export type BoxPromptState =
  | { readonly name: 'idle' }
  | { readonly name: 'pointing'; readonly down: ToolPointer }
  | { readonly name: 'drawing'; readonly from: ImagePoint; readonly to: ImagePoint };

/** Smallest side, in image pixels, of a box worth asking about. */
const MIN_SIDE = 2;

export class BoxPromptTool implements Tool {
  readonly name = 'prompt';
  state: BoxPromptState = { name: 'idle' };

  constructor(private readonly ctx: ToolContext) {}

  pointerDown(p: ToolPointer): void {
    this.state = { name: 'pointing', down: p };
  }

  pointerMove(p: ToolPointer): void {
    const state = this.state;
    if (state.name === 'pointing' && distance(p.screen, state.down.screen) >= DRAG_DISTANCE) this.state = { name: 'drawing', from: state.down.image, to: p.image };
    else if (state.name === 'drawing') this.state = { ...state, to: p.image };
  }

  pointerUp(p: ToolPointer): void {
    const state = this.state;
    this.state = { name: 'idle' };
    if (state.name !== 'drawing') return;
    const prompt = this.ctx.prompt;
    if (!prompt || prompt.unavailable !== null) return this.ctx.say(prompt?.unavailable ?? 'Box prompts need a model.');
    const { width, height } = this.ctx.document.image;
    const box = clampBbox(boxBetween(state.from, p.image), width, height);
    if (box[2] < MIN_SIDE || box[3] < MIN_SIDE) return;
    prompt.add(box);
  }

  key(key: string): boolean {
    if (key !== 'Escape' || this.state.name === 'idle') return false;
    this.cancel();
    return true;
  }

  cancel(): void {
    this.state = { name: 'idle' };
  }

  preview(): Preview | null {
    return this.state.name === 'drawing' ? { kind: 'box', box: boxBetween(this.state.from, this.state.to) } : null;
  }

  cursor(): string {
    return this.ctx.prompt?.unavailable === null ? 'crosshair' : 'not-allowed';
  }
}
