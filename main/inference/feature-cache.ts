// The feature maps of the images last asked about, least recently used first out, within a memory bound: a box drawn
// on an image whose maps are here costs only the RoI heads. Bounded by bytes, not by count, since an image's maps
// grow with its resized size (6.5 MB at 640 x 480 for the shipped model; README, "Box prompts").

export interface CacheStats {
  readonly entries: number;
  readonly bytes: number;
  readonly maxBytes: number;
  /** Entries dropped to stay within maxBytes since the cache was made. */
  readonly evicted: number;
}

export class FeatureCache<V> {
  /** Insertion order is use order: a hit moves its entry to the end. */
  private readonly entries = new Map<string, { value: V; bytes: number }>();
  private total = 0;
  private evictions = 0;

  /** `maxBytes`: the most the cached values may take, except one value larger than it alone, kept as the only one. */
  constructor(readonly maxBytes: number) {
    if (!(maxBytes >= 0)) throw new Error(`cache size must be a number of bytes, got ${maxBytes}`);
  }

  get(key: string): V | undefined {
    const entry = this.entries.get(key);
    if (!entry) return undefined;
    this.entries.delete(key);
    this.entries.set(key, entry);
    return entry.value;
  }

  has(key: string): boolean {
    return this.entries.has(key);
  }

  /** Adds (or replaces) a value, then drops the least recently used others until the total fits. */
  set(key: string, value: V, bytes: number): void {
    if (!(bytes >= 0)) throw new Error(`an entry's size must be a number of bytes, got ${bytes}`);
    this.delete(key);
    this.entries.set(key, { value, bytes });
    this.total += bytes;
    for (const [oldest, entry] of this.entries) {
      if (this.total <= this.maxBytes || oldest === key) break;
      this.entries.delete(oldest);
      this.total -= entry.bytes;
      this.evictions++;
    }
  }

  delete(key: string): boolean {
    const entry = this.entries.get(key);
    if (!entry) return false;
    this.entries.delete(key);
    this.total -= entry.bytes;
    return true;
  }

  clear(): void {
    this.entries.clear();
    this.total = 0;
  }

  /** Keys from least to most recently used. */
  keys(): string[] {
    return [...this.entries.keys()];
  }

  get stats(): CacheStats {
    return { entries: this.entries.size, bytes: this.total, maxBytes: this.maxBytes, evicted: this.evictions };
  }
}
