/**
 * Bytes received on a stream and not consumed yet, kept as the chunks they arrived in. A framer
 * reads from the front: a run that lies in one chunk comes back as a view of it; a run that spans
 * chunks is copied once. Nothing is copied or rescanned when a chunk arrives, so a message sent one
 * octet per segment costs the same per octet as one sent in a single segment.
 */
export class ChunkQueue {
  #chunks: Buffer[] = [];
  /** Index of the first chunk still in use, and the offset of the first unread octet in it. */
  #head = 0;
  #off = 0;
  #length = 0;
  /** Where the last `scan` was: chunk index and its position from the front (forgotten when the front moves). */
  #mark: { k: number; at: number } | undefined;

  /** Octets held. */
  get length(): number {
    return this.#length;
  }

  push(chunk: Buffer): void {
    if (chunk.length === 0) return;
    this.#chunks.push(chunk);
    this.#length += chunk.length;
  }

  /** The octet at `i` from the front (i < length). */
  byteAt(i: number): number {
    let k = this.#head;
    let j = this.#off + i;
    for (;;) {
      const c = this.#chunks[k]!;
      if (j < c.length) return c[j]!;
      j -= c.length;
      k++;
    }
  }

  /**
   * Visits the held octets from `from` on, chunk by chunk: `visit(buf, start, end, at)` sees
   * `buf[start..end)`, whose first octet is at position `at` from the front. A visit that returns
   * true stops the walk.
   */
  scan(from: number, visit: (buf: Buffer, start: number, end: number, at: number) => boolean): void {
    // Resume at the chunk where the last walk ended: a framer that searches each new chunk once stays linear.
    let k = this.#head;
    let at = 0;
    if (this.#mark !== undefined && this.#mark.at <= from) {
      k = this.#mark.k;
      at = this.#mark.at;
    }
    for (; k < this.#chunks.length; k++) {
      const c = this.#chunks[k]!;
      const s = k === this.#head ? this.#off : 0;
      const n = c.length - s;
      if (at + n > from) {
        this.#mark = { k, at };
        const skip = from > at ? from - at : 0;
        if (visit(c, s + skip, c.length, at + skip)) return;
      }
      at += n;
    }
  }

  /** The first `n` octets (n ≤ length) without consuming them: a view when they lie in one chunk. */
  peek(n: number): Buffer {
    const first = this.#chunks[this.#head];
    if (first !== undefined && first.length - this.#off >= n) return first.subarray(this.#off, this.#off + n);
    return this.#gather(n);
  }

  /** Joins the first `n` octets into one chunk (one copy), so that later reads of them are views. */
  coalesce(n: number): void {
    const first = this.#chunks[this.#head];
    if (first === undefined || first.length - this.#off >= n) return;
    const joined = this.#gather(n);
    this.#drop(n);
    // The chunk now in front may be partly read: keep only its unread part, then put the joined run before it.
    if (this.#head < this.#chunks.length && this.#off > 0) this.#chunks[this.#head] = this.#chunks[this.#head]!.subarray(this.#off);
    this.#off = 0;
    if (this.#head > 0) this.#chunks[--this.#head] = joined;
    else this.#chunks.unshift(joined);
    this.#length += n;
  }

  /** Removes and returns the first `n` octets (n ≤ length). */
  take(n: number): Buffer {
    const out = this.peek(n);
    this.#drop(n);
    return out;
  }

  /** Removes the first `n` octets (n ≤ length). */
  skip(n: number): void {
    this.#drop(n);
  }

  /** Removes leading octets while `pred` holds; returns how many. */
  skipWhile(pred: (b: number) => boolean): number {
    let n = 0;
    while (this.#head < this.#chunks.length) {
      const c = this.#chunks[this.#head]!;
      let i = this.#off;
      while (i < c.length && pred(c[i]!)) i++;
      if (i > this.#off) this.#mark = undefined;
      n += i - this.#off;
      this.#length -= i - this.#off;
      if (i < c.length) {
        this.#off = i;
        break;
      }
      this.#next();
    }
    return n;
  }

  clear(): void {
    this.#mark = undefined;
    this.#chunks = [];
    this.#head = 0;
    this.#off = 0;
    this.#length = 0;
  }

  #gather(n: number): Buffer {
    const out = Buffer.allocUnsafe(n);
    let got = 0;
    let k = this.#head;
    let s = this.#off;
    while (got < n) {
      const c = this.#chunks[k++]!;
      const take = Math.min(c.length - s, n - got);
      c.copy(out, got, s, s + take);
      got += take;
      s = 0;
    }
    return out;
  }

  #drop(n: number): void {
    this.#mark = undefined;
    this.#length -= n;
    while (n > 0) {
      const c = this.#chunks[this.#head]!;
      const left = c.length - this.#off;
      if (n < left) {
        this.#off += n;
        return;
      }
      n -= left;
      this.#next();
    }
    if (this.#head < this.#chunks.length && this.#off === this.#chunks[this.#head]!.length) this.#next();
  }

  /** Moves past the first chunk; the array is compacted once most of it is spent. */
  #next(): void {
    this.#chunks[this.#head] = EMPTY;
    this.#head++;
    this.#off = 0;
    if (this.#head === this.#chunks.length) {
      this.#chunks = [];
      this.#head = 0;
    } else if (this.#head >= 1024 && this.#head * 2 >= this.#chunks.length) {
      this.#chunks = this.#chunks.slice(this.#head);
      this.#head = 0;
    }
  }
}

const EMPTY = Buffer.alloc(0);
