/**
 * The object store in memory, for tests of code that takes the ObjectStore port. It keeps the
 * port's guarantees: whole-object puts, 'not-found' on a missing key, lexical list order.
 */
import { Readable } from 'node:stream';
import { type ObjectInfo, type ObjectStore, ObjectStoreError } from '../../ports/object-store.ts';

export class MemoryObjectStore implements ObjectStore {
  readonly location = 'memory://';
  /** The objects, by key; tests may read and seed it directly. */
  readonly objects = new Map<string, Buffer>();

  async put(key: string, body: Buffer | Readable): Promise<void> {
    if (Buffer.isBuffer(body)) {
      this.objects.set(key, Buffer.from(body));
      return;
    }
    const chunks: Buffer[] = [];
    for await (const c of body) chunks.push(Buffer.from(c as Buffer));
    this.objects.set(key, Buffer.concat(chunks));
  }

  async get(key: string): Promise<Readable> {
    const b = this.objects.get(key);
    if (b === undefined) throw new ObjectStoreError('not-found', `${this.location}${key} does not exist`);
    return Readable.from([b]);
  }

  async head(key: string): Promise<ObjectInfo | undefined> {
    const b = this.objects.get(key);
    return b === undefined ? undefined : { key, size: b.length };
  }

  async list(prefix: string): Promise<ObjectInfo[]> {
    return [...this.objects]
      .filter(([k]) => k.startsWith(prefix))
      .map(([key, b]) => ({ key, size: b.length }))
      .sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  }

  async delete(keys: readonly string[]): Promise<void> {
    for (const k of keys) this.objects.delete(k);
  }

  /** Puts are atomic here: nothing is ever left unfinished. */
  async removeIncomplete(_prefix: string): Promise<void> {}
}
