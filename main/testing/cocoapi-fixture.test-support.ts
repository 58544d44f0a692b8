// Test support: the 300 pycocotools RLE strings in ../shared (beside the repository), with their plain counts, area
// and bbox. The folder is absent outside this workplace; tests then report themselves skipped with the path.
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

export interface CocoapiCase {
  size: [number, number];
  counts: string;
  uncompressed_counts: number[];
  area: number;
  bbox: [number, number, number, number];
  /** COCO val2014 ids and the fake detector's score, as in the source file. */
  image_id: number;
  category_id: number;
  score: number;
}

export const COCOAPI_FIXTURE = fileURLToPath(new URL('../../../shared/fixtures/coco-rle-cocoapi.json', import.meta.url));
export const hasCocoapiFixture = existsSync(COCOAPI_FIXTURE);

export function readCocoapiCases(): CocoapiCase[] {
  return hasCocoapiFixture ? JSON.parse(readFileSync(COCOAPI_FIXTURE, 'utf8')).cases : [];
}
