// The little of Node's Buffer that src/trace/parse.ts uses (from, alloc,
// concat, isBuffer, toString), for the page:
// esbuild injects this wherever the bundle names `Buffer`. The parser works
// on bytes (latin1 round-trips a byte per character; text beyond U+00FF is
// UTF-8, as a file holding it would be), so the page gives the same errors,
// byte for byte, as the CLI reading the same file.

class Bytes extends Uint8Array {
  override toString(encoding: 'latin1' | 'utf8' = 'utf8', start = 0, end = this.length): string {
    const part = this.subarray(start, end);
    if (encoding === 'utf8') return new TextDecoder().decode(part);
    let s = '';
    for (let i = 0; i < part.length; i += 8192) s += String.fromCharCode(...part.subarray(i, i + 8192));
    return s;
  }
}

export const Buffer = {
  alloc(n: number): Bytes {
    return new Bytes(n);
  },
  /** The bytes of several pieces, one after another (the streaming parser joins a line's pieces). */
  concat(list: readonly Uint8Array[]): Bytes {
    let n = 0;
    for (const p of list) n += p.length;
    const b = new Bytes(n);
    let at = 0;
    for (const p of list) {
      b.set(p, at);
      at += p.length;
    }
    return b;
  },
  from(input: string | Uint8Array, encoding: 'latin1' | 'utf8' = 'utf8'): Bytes {
    if (typeof input !== 'string') {
      const copy = new Bytes(input.length);
      copy.set(input);
      return copy;
    }
    if (encoding === 'latin1') {
      const b = new Bytes(input.length);
      for (let i = 0; i < input.length; i++) b[i] = input.charCodeAt(i) & 0xff;
      return b;
    }
    const bytes = new TextEncoder().encode(input);
    const b = new Bytes(bytes.length);
    b.set(bytes);
    return b;
  },
  isBuffer(x: unknown): x is Bytes {
    return x instanceof Bytes;
  },
};
