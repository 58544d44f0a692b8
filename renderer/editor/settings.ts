import type { CategoryId, ProviderChoice } from '../../app/model/index.js';
import type { ToolName } from './tools/index.js';

/** What the person has set up for reviewing; the project keeps the part `PROJECT_SETTINGS` names (see session.ts). */
export interface Settings {
  readonly tool: ToolName;
  /** Predictions scoring below this are hidden. */
  readonly threshold: number;
  /** Brush and eraser radius in screen pixels: the brush looks the same size at any zoom. */
  readonly brushSize: number;
  /** The class new instances get. */
  readonly activeCategory: CategoryId | null;
  readonly showMasks: boolean;
  /** Each mask's edge drawn opaque over its fill. */
  readonly showOutlines: boolean;
  readonly showBoxes: boolean;
  readonly showLabels: boolean;
  /** Mask opacity, 0..1. */
  readonly opacity: number;
  /** Classes not drawn (nor picked) on the canvas. */
  readonly hiddenCategories: readonly CategoryId[];
  /** Classes drawn but not selectable, so they cannot be edited by accident. */
  readonly lockedCategories: readonly CategoryId[];
  /** After accepting or rejecting an instance, select the next pending one. */
  readonly autoAdvance: boolean;
  /** The card of the model pre-labelling runs (models.installed's cardPath); null for main's default. */
  readonly model: string | null;
  /** Where pre-labelling runs. */
  readonly provider: ProviderChoice;
}

export const DEFAULT_SETTINGS: Settings = {
  tool: 'select', threshold: 0.5, brushSize: 12, activeCategory: null, showMasks: true, showOutlines: true, showBoxes: true, showLabels: true,
  opacity: 0.45, hiddenCategories: [], lockedCategories: [], autoAdvance: false, model: null, provider: 'auto',
};

/** Brush sizes the [ and ] keys and the slider allow, in screen pixels. */
export const BRUSH_SIZES = { min: 1, max: 150 } as const;
