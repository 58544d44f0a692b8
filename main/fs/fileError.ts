/**
 * A problem with one file or folder, reported as `<file>: <reason>`; `details` are further lines (every problem of
 * a COCO file, say), shown below that one.
 */
export class FileError extends Error {
  override name = 'FileError';
  constructor(
    readonly file: string,
    readonly reason: string,
    readonly details: readonly string[] = [],
  ) {
    super(`${file}: ${reason}`);
  }
}
