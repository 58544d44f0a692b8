import { describe, expect, it } from 'vitest';
import { cocoExportOptionsSchema, datasetExportOptionsSchema } from './contract.js';
import { COCO_EXPORT_DEFAULTS, DATASET_EXPORT_DEFAULTS } from './exchange-options.js';

describe('export defaults', () => {
  it('are what the contract\'s schemas fill in for a request that sets nothing (the CLI parses them, the dialog shows them)', () => {
    expect(cocoExportOptionsSchema.parse({})).toEqual(COCO_EXPORT_DEFAULTS);
    expect(datasetExportOptionsSchema.parse({})).toEqual(DATASET_EXPORT_DEFAULTS);
  });
});
