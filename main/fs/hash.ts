// The one way Loupe hashes a file: sha256, streamed, so a large image or model never sits in memory whole.
import { createHash, type Hash } from 'node:crypto';
import { createReadStream } from 'node:fs';

/** sha256 of a file's bytes, hex. */
export async function hashFile(path: string): Promise<string> {
  return (await feedFile(createHash('sha256'), path)).digest('hex');
}

/** Feeds a file's bytes into `hash` (a resumed download primes its hash with the part it already has). */
export async function feedFile(hash: Hash, path: string): Promise<Hash> {
  for await (const chunk of createReadStream(path, { highWaterMark: 1 << 20 })) hash.update(chunk as Buffer);
  return hash;
}
