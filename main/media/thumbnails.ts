// Thumbnails of one project folder, made once and cached on disk under <project>/.loupe/thumbs, by file identity.
import { createHash } from 'node:crypto';
import { mkdir, readFile, rename, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';

export class ThumbnailCache {
  private readonly pending = new Map<string, Promise<Buffer>>();
  readonly dir: string;

  /** `make` decodes a file into its JPEG thumbnail (in the untrusted-files process). */
  constructor(
    projectFolder: string,
    private readonly make: (file: string) => Promise<Buffer>,
  ) {
    this.dir = path.join(projectFolder, '.loupe', 'thumbs');
  }

  /** The JPEG thumbnail of `file`, an already-confined real path; made once per path, size and modification time. */
  async get(file: string): Promise<Buffer> {
    const info = await stat(file);
    const key = createHash('sha256').update(`${file}\0${info.size}\0${info.mtimeMs}`).digest('hex').slice(0, 32);
    let job = this.pending.get(key);
    if (!job) {
      job = this.readOrMake(key, file).finally(() => this.pending.delete(key));
      this.pending.set(key, job);
    }
    return job;
  }

  private async readOrMake(key: string, file: string): Promise<Buffer> {
    const cached = path.join(this.dir, `${key}.jpg`);
    try {
      return await readFile(cached);
    } catch {
      const body = await this.make(file);
      await mkdir(this.dir, { recursive: true });
      const temp = `${cached}.${process.pid}.tmp`;
      await writeFile(temp, body);
      await rename(temp, cached);
      return body;
    }
  }
}
