/**
 * The part of the WebAssembly JavaScript API that hamming-simd.ts uses. Node has it globally, but
 * TypeScript declares it only in the DOM and web-worker libraries, which would also declare
 * browser globals this server does not have.
 */
declare namespace WebAssembly {
  class Module {
    constructor(bytes: Uint8Array);
  }
  class Memory {
    constructor(descriptor: { initial: number; maximum?: number });
    readonly buffer: ArrayBuffer;
    grow(delta: number): number;
  }
  class Instance {
    constructor(module: Module, imports?: Record<string, Record<string, Memory | ((...args: number[]) => unknown)>>);
    readonly exports: Record<string, unknown>;
  }
}
