// What the untrusted-files process does for each request: the code that parses files Loupe did not make (images of a
// folder, imported models), here so that only that process ever runs it.
import { probeImage } from '../fs/probe.js';
import { imageForDisplay, thumbnailOf } from './images.js';
import { readGraphNames, verifyModel } from './models.js';
import type { UntrustedRequest, UntrustedWork, WorkType } from './protocol.js';

export async function doWork(request: UntrustedRequest): Promise<UntrustedWork[WorkType]['result']> {
  switch (request.type) {
    case 'probe':
      return probeImage(request.file, { verify: request.verify });
    case 'probeMany':
      return Promise.all(request.files.map((file) => probeImage(file, { verify: request.verify })));
    case 'display':
      return imageForDisplay(request.file);
    case 'thumbnail':
      return thumbnailOf(request.file);
    case 'graphNames':
      return readGraphNames(request.onnxPath);
    case 'verifyModel':
      await verifyModel(request.cardPath);
      return null;
  }
}
