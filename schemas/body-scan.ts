/**
 * A bounds-checked walk over an Avro binary body against its writer schema, run before avsc
 * decodes it. avsc trusts block counts and lengths (a corrupt array count of 2^40 makes it loop
 * past the end of the buffer for a very long time), so untrusted bytes are checked here first:
 * every length, count, enum and union index must fit the bytes that are actually there.
 */
import type { Type, types } from 'avsc';

/** Why a body does not match its writer schema. */
export type ScanFailure = { readonly reason: 'truncated' | 'trailing' | 'body'; readonly message: string };

class ScanError extends Error {
  constructor(
    readonly reason: 'truncated' | 'body',
    message: string,
  ) {
    super(message);
  }
}

/**
 * Checks that `buf[start..]` holds exactly one value of `type`; returns null when it does,
 * otherwise what is wrong (running out of bytes, bytes left over, or a malformed value).
 */
export function scanBody(type: Type, buf: Uint8Array, start: number): ScanFailure | null {
  const scanner = new Scanner(buf, start);
  try {
    scanner.value(type, []);
  } catch (err) {
    if (err instanceof ScanError) return { reason: err.reason, message: err.message };
    throw err;
  }
  if (scanner.pos < buf.length) {
    return { reason: 'trailing', message: `${buf.length - scanner.pos} trailing byte(s) after the body` };
  }
  return null;
}

class Scanner {
  pos: number;
  private readonly minSizes = new Map<Type, number>();

  constructor(
    private readonly buf: Uint8Array,
    start: number,
  ) {
    this.pos = start;
  }

  value(type: Type, path: readonly string[]): void {
    switch (type.typeName) {
      case 'null':
        return;
      case 'boolean': {
        const b = this.bytes(1, path)[0];
        if (b !== 0 && b !== 1) this.fail('body', path, `invalid boolean byte ${b}`);
        return;
      }
      case 'int': {
        const n = this.varint(path, 5);
        if (n < -0x80000000 || n > 0x7fffffff) this.fail('body', path, `int out of range`);
        return;
      }
      case 'long':
        this.varint(path, 10);
        return;
      case 'float':
        this.bytes(4, path);
        return;
      case 'double':
        this.bytes(8, path);
        return;
      case 'bytes':
      case 'string':
        this.bytes(this.length(path), path);
        return;
      case 'fixed':
        this.bytes((type as types.FixedType).size, path);
        return;
      case 'enum': {
        const symbols = (type as types.EnumType).symbols;
        const i = this.varint(path, 10);
        if (!Number.isInteger(i) || i < 0 || i >= symbols.length) this.fail('body', path, `enum index ${i} out of range`);
        return;
      }
      case 'array': {
        const items = (type as types.ArrayType).itemsType;
        this.blocks(items, path, (i) => this.value(items, [...path, String(i)]));
        return;
      }
      case 'map': {
        // avsc types `valuesType` as any; it is a Type.
        const values = (type as types.MapType).valuesType as Type;
        this.blocks(values, path, () => {
          this.bytes(this.length(path), path);
          this.value(values, path);
        });
        return;
      }
      case 'union:unwrapped':
      case 'union:wrapped': {
        const branches = (type as types.UnwrappedUnionType).types;
        const i = this.varint(path, 10);
        const branch = Number.isInteger(i) && i >= 0 ? branches[i] : undefined;
        if (branch === undefined) return this.fail('body', path, `union index ${i} out of range`);
        this.value(branch, path);
        return;
      }
      case 'record':
      case 'error':
        for (const field of (type as types.RecordType).fields) this.value(field.type, [...path, field.name]);
        return;
      default:
        if (type.typeName.startsWith('logical:')) {
          this.value((type as types.LogicalType).underlyingType, path);
          return;
        }
        this.fail('body', path, `unsupported Avro type ${type.typeName}`);
    }
  }

  /** Array and map blocks: a count (negative: followed by a byte size), items, until a 0 count. */
  private blocks(item: Type, path: readonly string[], readItem: (index: number) => void): void {
    const perItem = Math.max(1, this.minSize(item));
    let index = 0;
    for (;;) {
      let n = this.varint(path, 10);
      if (n === 0) return;
      if (n < 0) {
        n = -n;
        if (this.varint(path, 10) < 0) this.fail('body', path, 'negative block size');
      }
      // Every item takes at least `perItem` bytes, so a count the remaining bytes cannot hold is
      // rejected before looping over it.
      if (n > (this.buf.length - this.pos) / perItem) this.fail('truncated', path, `block of ${n} items runs past the end`);
      for (let k = 0; k < n; k++) readItem(index++);
    }
  }

  /** The fewest bytes a value of `type` can take. */
  private minSize(type: Type): number {
    const known = this.minSizes.get(type);
    if (known !== undefined) return known;
    this.minSizes.set(type, 0); // Guards recursive schemas while computing.
    let size: number;
    switch (type.typeName) {
      case 'null':
        size = 0;
        break;
      case 'float':
        size = 4;
        break;
      case 'double':
        size = 8;
        break;
      case 'fixed':
        size = (type as types.FixedType).size;
        break;
      case 'record':
      case 'error':
        size = (type as types.RecordType).fields.reduce((sum, f) => sum + this.minSize(f.type), 0);
        break;
      default:
        size = 1;
    }
    this.minSizes.set(type, size);
    return size;
  }

  private length(path: readonly string[]): number {
    const n = this.varint(path, 10);
    if (n < 0) this.fail('body', path, `negative length ${n}`);
    return n;
  }

  private bytes(n: number, path: readonly string[]): Uint8Array {
    if (n > this.buf.length - this.pos) this.fail('truncated', path, `needs ${n} byte(s), ${this.buf.length - this.pos} left`);
    const out = this.buf.subarray(this.pos, this.pos + n);
    this.pos += n;
    return out;
  }

  /** A zig-zag varint of at most `maxBytes` bytes (precision beyond 2^53 does not matter for bounds). */
  private varint(path: readonly string[], maxBytes: number): number {
    let unsigned = 0;
    let scale = 1;
    for (let i = 0; i < maxBytes; i++) {
      const b = this.buf[this.pos];
      if (b === undefined) return this.fail('truncated', path, 'varint runs past the end');
      this.pos++;
      unsigned += (b & 0x7f) * scale;
      scale *= 128;
      if ((b & 0x80) === 0) return unsigned % 2 === 0 ? unsigned / 2 : -(unsigned + 1) / 2;
    }
    return this.fail('body', path, `varint longer than ${maxBytes} bytes`);
  }

  private fail(reason: 'truncated' | 'body', path: readonly string[], message: string): never {
    throw new ScanError(reason, path.length > 0 ? `${renderPath(path)}: ${message}` : message);
  }
}

/** `['sources', '0', 'offset']` → `sources[0].offset`. */
export function renderPath(path: readonly string[]): string {
  let out = '';
  for (const part of path) {
    if (/^\d+$/.test(part)) out += `[${part}]`;
    else out += out === '' ? part : `.${part}`;
  }
  return out;
}
