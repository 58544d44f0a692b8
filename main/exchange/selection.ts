// Which images and annotations an export to LabelMe, YOLO or VOC holds: the same selection as the COCO export's
// (main/store/truth.ts: reviewed images, their reviewed truth, stale annotations and images changed since the scan
// left out and named), so every format writes the same reviewed truth.
import { changedSinceScan } from '../fs/cocoFiles.js';
import { selectTruth, type ProjectStore, type TruthItem, type TruthSelection } from '../store/index.js';

export interface SelectionOptions {
  /** Every image that can be exported, not only the reviewed ones. */
  readonly all?: boolean;
  /** Also the model's predictions nobody has accepted or rejected yet. */
  readonly includePending?: boolean;
}

export type ExportItem = TruthItem;
export type Selection = TruthSelection;

export async function selectForExport(store: ProjectStore, options: SelectionOptions = {}): Promise<Selection> {
  const scope = options.all ? 'all' : 'reviewed';
  return selectTruth(store, { scope, includePending: options.includePending ?? false }, await changedSinceScan(store, scope));
}
