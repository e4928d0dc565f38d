/**
 * Just enough of WebAssembly's binary encoding to write small SIMD kernels by hand (their text
 * form shown beside them), so the repository needs no assembler.
 */

/** LEB128 of an unsigned integer, as WebAssembly encodes sizes and indices. */
export function uleb(n: number): number[] {
  const out: number[] = [];
  do {
    let b = n & 0x7f;
    n >>>= 7;
    if (n !== 0) b |= 0x80;
    out.push(b);
  } while (n !== 0);
  return out;
}

/** A section: its id, then its byte length, then its contents. */
export function section(id: number, body: readonly number[]): number[] {
  return [id, ...uleb(body.length), ...body];
}

/** A name as WebAssembly stores it: length, then UTF-8 (ASCII here). */
export function name(s: string): number[] {
  return [...uleb(s.length), ...[...s].map((c) => c.charCodeAt(0))];
}

// Opcodes of the kernels (core and SIMD; SIMD ones follow the 0xfd prefix).
export const LOCAL_GET = 0x20;
export const LOCAL_SET = 0x21;
export const LOCAL_TEE = 0x22;
export const I32_CONST = 0x41;
export const I32_ADD = 0x6a;
export const I32_SHL = 0x74;
export const I32_MUL = 0x6c;
export const I32_LT_U = 0x49;
export const I32_GE_U = 0x4f;
export const I32_STORE16 = 0x3b;
export const I32_LOAD = 0x28;
export const I32_STORE = 0x36;
export const BLOCK = 0x02;
export const LOOP = 0x03;
export const EMPTY = 0x40;
export const BR_IF = 0x0d;
export const END = 0x0b;
export const SIMD = 0xfd;
export const V128_LOAD = [SIMD, 0x00];
export const V128_CONST = [SIMD, 0x0c];
export const I32X4_EXTRACT_LANE = [SIMD, 0x1b];
export const V128_XOR = [SIMD, 0x51];
export const I8X16_POPCNT = [SIMD, 0x62];
export const I16X8_EXTADD_PAIRWISE_I8X16_U = [SIMD, 0x7d];
export const I32X4_EXTADD_PAIRWISE_I16X8_U = [SIMD, 0x7f];
export const I16X8_ADD = [SIMD, ...uleb(0x8e)];
export const I16X8_EXTEND_LOW_I8X16_S = [SIMD, ...uleb(0x87)];
export const I16X8_EXTEND_HIGH_I8X16_S = [SIMD, ...uleb(0x88)];
export const I32X4_ADD = [SIMD, ...uleb(0xae)];
export const I32X4_DOT_I16X8_S = [SIMD, ...uleb(0xba)];
export const I32 = 0x7f;
export const V128 = 0x7b;

/** Bytes of a WebAssembly memory page. */
export const WASM_PAGE = 65_536;

/**
 * A module of one exported function `fn` of `params` i32 parameters (no result) over an imported
 * memory ("env" "memory"), with `body` as its code (locals declaration first).
 */
export function kernelModule(fn: string, params: number, body: readonly number[]): Uint8Array {
  return new Uint8Array([
    ...[0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00], // "\0asm", version 1
    ...section(1, [1, 0x60, params, ...new Array<number>(params).fill(I32), 0]), // type 0: (i32 × params) → ()
    ...section(2, [1, ...name('env'), ...name('memory'), 0x02, 0x00, 1]), // memory, at least 1 page
    ...section(3, [1, 0]), // function 0 has type 0
    ...section(7, [1, ...name(fn), 0x00, 0]), // export function 0
    ...section(10, [1, ...uleb(body.length), ...body]),
  ]);
}
