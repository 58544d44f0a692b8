export { scanFolder, forEachConcurrently } from './scan.js';
export type { ScanOptions, ScanProgress, ScanSummary } from './scan.js';
export { findImageFiles, isImageFileName, IMAGE_EXTENSIONS } from './imageFiles.js';
export type { FoundFile } from './imageFiles.js';
export { probeImage, openImage, hashFile, displayedSize } from './probe.js';
export { decodeBmp, encodeBmp, readBmpHeader } from './bmp.js';
