// The messages between main and the untrusted-files process: plain data (structured-cloned across a forked child's
// IPC channel or an Electron utilityProcess port; Buffers arrive as Uint8Arrays).
import type { FoundFile } from '../fs/imageFiles.js';
import type { GraphNames } from '../models/card-form.js';
import type { ImageFile } from '../store/index.js';

/** What each request asks the process to read, and what it answers. */
export interface UntrustedWork {
  /** Size, EXIF orientation and content hash of an image file (a scan's probe); a decoding problem is in `error`. */
  probe: { request: { file: FoundFile; verify: boolean }; result: ImageFile };
  /** The same for several files at once (a scan sends them in batches: one message each way instead of one per file). */
  probeMany: { request: { files: readonly FoundFile[]; verify: boolean }; result: ImageFile[] };
  /** The image as the UI draws it (orientation applied). */
  display: { request: { file: string }; result: { body: Uint8Array; type: string } };
  /** Its JPEG thumbnail. */
  thumbnail: { request: { file: string }; result: Uint8Array };
  /** An ONNX graph's input and output names. */
  graphNames: { request: { onnxPath: string }; result: GraphNames };
  /** Loads a card's model once to prove the graph matches it. */
  verifyModel: { request: { cardPath: string }; result: null };
}

export type WorkType = keyof UntrustedWork;

export type UntrustedRequest = { [T in WorkType]: { readonly id: number; readonly type: T } & UntrustedWork[T]['request'] }[WorkType];

export type UntrustedReply =
  | { readonly id: number; readonly ok: true; readonly value: unknown }
  /** The work failed in the ordinary way (the file is not what it claims): the error's message, for the caller. */
  | { readonly id: number; readonly ok: false; readonly message: string };
