import type { CategoryId } from '../../app/model/index.js';
import type { ToolName } from '../editor/tools/index.js';

/** What the person has set up on screen; not saved with the project. */
export interface Settings {
  tool: ToolName;
  /** Predictions scoring below this are hidden. */
  threshold: number;
  brushRadius: number;
  /** The class new instances get. */
  activeCategory: CategoryId | null;
  showMasks: boolean;
  showBoxes: boolean;
  showLabels: boolean;
  /** Mask opacity, 0..1. */
  opacity: number;
}
