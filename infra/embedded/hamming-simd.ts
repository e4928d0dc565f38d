/**
 * Binary codes packed in WebAssembly memory, and a SIMD kernel that computes the Hamming distance
 * of every code to a query in one call. JavaScript has no popcount instruction: its table-driven
 * scan costs about 31-34 ns per 512-bit code here, while `i8x16.popcnt` over 16-byte lanes does the
 * same in about 4 ns (and counts the codes at each distance on the way). The kernel is a few
 * hundred bytes of WebAssembly, encoded below from its text form (shown alongside) so the
 * repository needs no assembler; a test checks it against `hamming`.
 */
import {
  BLOCK,
  BR_IF,
  EMPTY,
  END,
  I16X8_ADD,
  I16X8_EXTADD_PAIRWISE_I8X16_U,
  I32,
  I32X4_EXTADD_PAIRWISE_I16X8_U,
  I32X4_EXTRACT_LANE,
  I32_ADD,
  I32_CONST,
  I32_GE_U,
  I32_LOAD,
  I32_LT_U,
  I32_SHL,
  I32_STORE,
  I32_STORE16,
  I8X16_POPCNT,
  LOCAL_GET,
  LOCAL_SET,
  LOCAL_TEE,
  LOOP,
  V128,
  V128_CONST,
  V128_LOAD,
  V128_XOR,
  uleb,
  WASM_PAGE,
  kernelModule,
} from './wasm-bytes.js';

/** Bytes of one code's slot: codes are padded with zero bits to whole 16-byte SIMD lanes. */
export function codeStrideBytes(dimensions: number): number {
  return Math.ceil(dimensions / 128) * 16;
}

// Parameters and locals of `distances`, by index.
const Q = 0; // query's offset
const P = 1; // current code's offset
const N = 2; // codes to scan
const STRIDE = 3; // bytes per code (a multiple of 16)
const OUT = 4; // where the next distance (u16) goes
const HIST = 5; // the histogram: one u32 count per distance
const END_OUT = 6; // OUT's end
const J = 7; // byte within the code
const D = 8; // the current code's distance
const SLOT = 9; // its histogram counter's offset
const ACC = 10; // per-lane bit counts of the current code (i16x8)

/**
 * (func (export "distances") (param $q i32) (param $p i32) (param $n i32) (param $stride i32) (param $out i32) (param $hist i32)
 *   (local $end i32) (local $j i32) (local $d i32) (local $slot i32) (local $acc v128)
 *   $end = $out + ($n << 1)
 *   (block (br_if 0 (i32.ge_u $out $end))
 *     (loop $codes
 *       $acc = 0; $j = 0
 *       (loop $lanes   ;; 16 bytes at a time: xor, count bits per byte, widen, add
 *         $acc = (i16x8.add $acc (i16x8.extadd_pairwise_i8x16_u (i8x16.popcnt (v128.xor (v128.load ($p + $j)) (v128.load ($q + $j))))))
 *         (br_if $lanes (i32.lt_u ($j = $j + 16) $stride)))
 *       $acc = i32x4.extadd_pairwise_i16x8_u $acc
 *       $d = lane 0 + lane 1 + lane 2 + lane 3 of $acc
 *       (i32.store16 $out $d)
 *       $slot = $hist + ($d << 2); (i32.store $slot (i32.load $slot) + 1)
 *       $p = $p + $stride
 *       (br_if $codes (i32.lt_u ($out = $out + 2) $end)))))
 */
const DISTANCES_BODY: number[] = [
  ...[2, ...uleb(4), I32, 1, V128], // locals: 4 × i32, 1 × v128
  ...[LOCAL_GET, OUT, LOCAL_GET, N, I32_CONST, 1, I32_SHL, I32_ADD, LOCAL_SET, END_OUT],
  BLOCK, EMPTY,
  ...[LOCAL_GET, OUT, LOCAL_GET, END_OUT, I32_GE_U, BR_IF, 0],
  LOOP, EMPTY,
  ...[...V128_CONST, ...new Array<number>(16).fill(0), LOCAL_SET, ACC],
  ...[I32_CONST, 0, LOCAL_SET, J],
  LOOP, EMPTY,
  ...[LOCAL_GET, ACC],
  ...[LOCAL_GET, P, LOCAL_GET, J, I32_ADD, ...V128_LOAD, 4, 0],
  ...[LOCAL_GET, Q, LOCAL_GET, J, I32_ADD, ...V128_LOAD, 4, 0],
  ...[...V128_XOR, ...I8X16_POPCNT, ...I16X8_EXTADD_PAIRWISE_I8X16_U, ...I16X8_ADD, LOCAL_SET, ACC],
  ...[LOCAL_GET, J, I32_CONST, 16, I32_ADD, LOCAL_TEE, J, LOCAL_GET, STRIDE, I32_LT_U, BR_IF, 0],
  END,
  ...[LOCAL_GET, ACC, ...I32X4_EXTADD_PAIRWISE_I16X8_U, LOCAL_TEE, ACC, ...I32X4_EXTRACT_LANE, 0],
  ...[LOCAL_GET, ACC, ...I32X4_EXTRACT_LANE, 1, I32_ADD],
  ...[LOCAL_GET, ACC, ...I32X4_EXTRACT_LANE, 2, I32_ADD],
  ...[LOCAL_GET, ACC, ...I32X4_EXTRACT_LANE, 3, I32_ADD, LOCAL_SET, D],
  ...[LOCAL_GET, OUT, LOCAL_GET, D, I32_STORE16, 1, 0],
  ...[LOCAL_GET, HIST, LOCAL_GET, D, I32_CONST, 2, I32_SHL, I32_ADD, LOCAL_TEE, SLOT],
  ...[LOCAL_GET, SLOT, I32_LOAD, 2, 0, I32_CONST, 1, I32_ADD, I32_STORE, 2, 0],
  ...[LOCAL_GET, P, LOCAL_GET, STRIDE, I32_ADD, LOCAL_SET, P],
  ...[LOCAL_GET, OUT, I32_CONST, 2, I32_ADD, LOCAL_TEE, OUT, LOCAL_GET, END_OUT, I32_LT_U, BR_IF, 0],
  END,
  END,
  END,
];

/** The module: imports its memory ("env" "memory"), exports `distances`. */
const MODULE_BYTES = kernelModule('distances', 6, DISTANCES_BODY);

let compiled: WebAssembly.Module | null = null;

/** The compiled kernel (compiled once, on first use). */
function kernel(): WebAssembly.Module {
  compiled ??= new WebAssembly.Module(MODULE_BYTES);
  return compiled;
}

type Distances = (q: number, p: number, n: number, stride: number, out: number, hist: number) => void;

/** A scan's result: each slot's distance, and the number of slots at each distance. */
export interface HammingScan {
  readonly distances: Uint16Array;
  readonly histogram: Uint32Array;
}

/**
 * Growable storage for codes of `dimensions` bits, slot by slot, in a WebAssembly memory laid out
 * as [query | codes (capacity × stride) | distances (capacity × u16) | histogram (u32 per
 * distance)]. Growing keeps the codes in place; what follows them is scratch, rewritten by every scan.
 */
export class PackedCodes {
  /** 32-bit words per slot (a multiple of 4; the padding bits stay zero). */
  readonly strideWords: number;
  private readonly stride: number;
  private readonly memory: WebAssembly.Memory;
  private readonly kernel: Distances;
  private cap: number;
  private view: Uint32Array;

  constructor(dimensions: number, capacity: number) {
    this.stride = codeStrideBytes(dimensions);
    if (dimensions > 0xffff) throw new RangeError(`codes of ${dimensions} bits do not fit 16-bit distances`);
    this.strideWords = this.stride / 4;
    this.cap = Math.max(1, capacity);
    this.memory = new WebAssembly.Memory({ initial: this.pagesFor(this.cap) });
    const instance = new WebAssembly.Instance(kernel(), { env: { memory: this.memory } });
    this.kernel = instance.exports.distances as Distances;
    this.view = this.codesView();
  }

  /** Slots the codes region holds. */
  get capacity(): number {
    return this.cap;
  }

  /** The codes, `strideWords` per slot (a view: valid until the next `grow`). */
  get codes(): Uint32Array {
    return this.view;
  }

  /** Makes room for `capacity` slots, keeping every code. */
  grow(capacity: number): void {
    if (capacity <= this.cap) return;
    const pages = this.pagesFor(capacity) - this.memory.buffer.byteLength / WASM_PAGE;
    if (pages > 0) this.memory.grow(pages);
    const was = this.cap;
    this.cap = capacity;
    this.view = this.codesView();
    // The new slots were scratch: their padding bits must read as zero.
    this.view.fill(0, was * this.strideWords);
  }

  /**
   * The Hamming distance of each of the first `count` slots to `query`, and how many slots lie at
   * each distance (views valid until the next scan or grow).
   */
  scan(query: Uint32Array, count: number): HammingScan {
    const n = Math.min(count, this.cap);
    const q = new Uint32Array(this.memory.buffer, 0, this.strideWords);
    q.fill(0);
    q.set(query.subarray(0, this.strideWords));
    const out = this.stride + this.cap * this.stride;
    const hist = this.histogramAt();
    const histogram = new Uint32Array(this.memory.buffer, hist, this.stride * 8 + 1);
    histogram.fill(0);
    this.kernel(0, this.stride, n, this.stride, out, hist);
    return { distances: new Uint16Array(this.memory.buffer, out, n), histogram };
  }

  /** The histogram's offset: after the distances, 4-byte aligned. */
  private histogramAt(): number {
    return (this.stride + this.cap * (this.stride + 2) + 3) & ~3;
  }

  private codesView(): Uint32Array {
    return new Uint32Array(this.memory.buffer, this.stride, this.cap * this.strideWords);
  }

  private pagesFor(capacity: number): number {
    return Math.ceil((this.stride + capacity * (this.stride + 2) + 4 + 4 * (this.stride * 8 + 1)) / WASM_PAGE);
  }
}
