// Entry of the untrusted-files process (an Electron utilityProcess in the desktop app, a forked child under Node):
// it decodes the images of a folder (scan probes, display, thumbnails) and opens imported models, so a crafted file
// that crashes a decoder takes down this process, not the app. Only the image loaders Loupe reads are enabled.
import sharp from 'sharp';
import { restrictImageLoaders } from '../fs/image-loaders.js';
import { parentChannel } from './port.js';
import type { UntrustedReply, UntrustedRequest } from './protocol.js';
import { doWork } from './work.js';

restrictImageLoaders();
// Each file is decoded once: libvips' operation cache would only hold pixels nobody asks for again.
sharp.cache(false);

const channel = parentChannel<UntrustedRequest, UntrustedReply>();
channel.onMessage((request) => {
  doWork(request).then(
    (value) => channel.post({ id: request.id, ok: true, value }),
    (error: unknown) => channel.post({ id: request.id, ok: false, message: error instanceof Error ? error.message : String(error) }),
  );
});
