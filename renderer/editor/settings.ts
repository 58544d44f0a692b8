import type { CategoryId, ProviderChoice } from '../../app/model/index.js';
import type { ToolName } from './tools/index.js';

/** What the person has set up for reviewing; not saved with the project. */
export interface Settings {
  readonly tool: ToolName;
  /** Predictions scoring below this are hidden. */
  readonly threshold: number;
  /** Brush and eraser radius, in image pixels. */
  readonly brushRadius: number;
  /** The class new instances get. */
  readonly activeCategory: CategoryId | null;
  readonly showMasks: boolean;
  readonly showBoxes: boolean;
  readonly showLabels: boolean;
  /** Mask opacity, 0..1. */
  readonly opacity: number;
  /** The card of the model pre-labelling runs (models.installed's cardPath); null for main's default. */
  readonly model: string | null;
  /** Where pre-labelling runs. */
  readonly provider: ProviderChoice;
}

export const DEFAULT_SETTINGS: Settings = {
  tool: 'select', threshold: 0.5, brushRadius: 8, activeCategory: null, showMasks: true, showBoxes: true, showLabels: true, opacity: 0.45,
  model: null, provider: 'auto',
};
