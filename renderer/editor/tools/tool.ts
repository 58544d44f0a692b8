// The shape every editing tool has: a state machine with named states (tldraw's idle -> pointing -> dragging),
// fed pointer events that carry both image and screen coordinates, making edits through the document and
// telling the canvas what to draw for the gesture in progress. No Konva, no DOM.
import type { ImagePoint, ScreenPoint } from '../../../app/geometry/points.js';
import type { Annotation, AnnotationId, Bbox, CategoryId } from '../../../app/model/index.js';
import type { AnnotationDocument } from '../document.js';

export const TOOL_NAMES = ['select', 'box', 'prompt', 'polygon', 'vertices', 'brush', 'eraser'] as const;
export type ToolName = (typeof TOOL_NAMES)[number];

/** A press that moves less than this many screen pixels is a click, not a drag. */
export const DRAG_DISTANCE = 3;
/** How near (in screen pixels) a press must be to a vertex, an edge or a polygon's first point to take it. */
export const HIT_DISTANCE = 6;

/** The pointer as a tool sees it: where it is in both spaces, and the modifier keys held. */
export interface ToolPointer {
  readonly image: ImagePoint;
  readonly screen: ScreenPoint;
  readonly shift: boolean;
  readonly alt: boolean;
  /** Ctrl, or Cmd on a Mac. */
  readonly mod: boolean;
}

/** What the session lends a tool. */
export interface ToolContext {
  /** The open image's annotations; tools are only fed events while an image is open. */
  readonly document: AnnotationDocument;
  /** Selected instances, in the order they were selected; the last is the primary one. */
  readonly selection: readonly AnnotationId[];
  select(ids: readonly AnnotationId[]): void;
  /** The class new instances get; null when the project has none. */
  activeCategory(): CategoryId | null;
  /**
   * Runs `make` with the class for a new instance: the active one, or, in a project without classes, the one the
   * person names when asked (later, or never if they cancel).
   */
  withClass(make: (category: CategoryId) => void): void;
  /** Brush and eraser radius in image pixels (the brush size is set in screen pixels). */
  brushRadius(): number;
  /** Image pixels per screen pixel at the current zoom. */
  pixelSize(): number;
  /** Whether an instance is shown (threshold, class filters, rejected). */
  isVisible(a: Annotation): boolean;
  /** Whether an instance can be picked on the canvas: shown, and not of a locked class. */
  isPickable(a: Annotation): boolean;
  /** Tells the person something (the status bar). */
  say(message: string): void;
  /** Box prompts on the model's own heads (renderer/editor/prompts.ts); absent where there is no model. */
  readonly prompt?: PromptPort;
}

/** An instance the select tool moved or resized, and its new box. */
export interface PromptMove {
  readonly id: AnnotationId;
  readonly box: Bbox;
}

/** What a tool can ask of the model's heads; the answer arrives later as one edit. */
export interface PromptPort {
  /** Why boxes cannot be segmented now (the model has no split graphs); null when they can. */
  readonly unavailable: string | null;
  /** The object in a box (image pixels) becomes a new instance, origin 'prompted', when the model answers. */
  add(box: Bbox): void;
  /** Moved or resized predictions get the mask the heads see in their new boxes; false when that cannot be done. */
  resegment(moves: readonly PromptMove[]): boolean;
}

/** What the canvas draws for the tool, in image pixels. */
export type Preview =
  | { readonly kind: 'box'; readonly box: Bbox }
  | { readonly kind: 'marquee'; readonly box: Bbox }
  | { readonly kind: 'polygon'; readonly points: readonly ImagePoint[]; readonly cursor: ImagePoint | null; readonly closable: boolean }
  | { readonly kind: 'stroke'; readonly points: readonly ImagePoint[]; readonly radius: number; readonly erase: boolean }
  /** Where the brush would paint, and how big it is, before a stroke starts. */
  | { readonly kind: 'brush'; readonly at: ImagePoint; readonly radius: number; readonly erase: boolean }
  | { readonly kind: 'vertices'; readonly polygons: readonly (readonly ImagePoint[])[]; readonly active: VertexRef | null }
  /** The select tool: boxes as they would be after the move or resize in progress, and the box whose handles are shown. */
  | { readonly kind: 'transform'; readonly boxes: readonly Bbox[]; readonly handles: Bbox | null };

export interface VertexRef {
  readonly polygon: number;
  readonly vertex: number;
}

export interface ToolState {
  readonly name: string;
}

export interface Tool {
  readonly name: ToolName;
  /** The state node the tool is in ('idle', 'pointing', 'translating', …). */
  readonly state: ToolState;
  pointerDown(p: ToolPointer): void;
  /** Every move, pressed or not (hover feedback). */
  pointerMove(p: ToolPointer): void;
  pointerUp(p: ToolPointer): void;
  /** Returns true when the tool used the key. */
  key(key: string): boolean;
  /** Drops any gesture in progress, back to idle, without an edit. */
  cancel(): void;
  preview(): Preview | null;
  /** CSS cursor over the canvas. */
  cursor(): string;
}

/** The box spanned by two points. */
export function boxBetween(a: ImagePoint, b: ImagePoint): Bbox {
  return [Math.min(a.x, b.x), Math.min(a.y, b.y), Math.abs(a.x - b.x), Math.abs(a.y - b.y)];
}

/** The last selected, or null. */
export function primaryOf(selection: readonly AnnotationId[]): AnnotationId | null {
  return selection.at(-1) ?? null;
}
