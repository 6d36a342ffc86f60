/**
 * Writes a WebAssembly binary module from a few calls, for the small numeric kernels the project generates
 * itself (as src/onnx/graph-builder.ts does for ONNX graphs): no toolchain at build time, no binary in the
 * repository. Only what those kernels use is here: i32/f32/v128 values, one exported memory, exported
 * functions, structured loops.
 *
 * @module
 */

export const ValType = { i32: 0x7f, f32: 0x7d, v128: 0x7b } as const;
export type ValTypeName = keyof typeof ValType;

/** Opcodes by name; SIMD ones are written with their 0xFD prefix by `FunctionBody.simd`. */
export const Op = {
  block: 0x02,
  loop: 0x03,
  br: 0x0c,
  brIf: 0x0d,
  end: 0x0b,
  localGet: 0x20,
  localSet: 0x21,
  localTee: 0x22,
  i32Load: 0x28,
  f32Load: 0x2a,
  i32Load8U: 0x2d,
  f32Store: 0x38,
  i32Const: 0x41,
  i32GeU: 0x4f,
  i32Add: 0x6a,
  i32Mul: 0x6c,
  f32Add: 0x92,
  f32Sub: 0x93,
  f32Mul: 0x94,
  f32ConvertI32U: 0xb3,
} as const;

export const SimdOp = { v128Load: 0, v128Store: 11, f32x4Splat: 19, f32x4Add: 228, f32x4Sub: 229, f32x4Mul: 230 } as const;

const EMPTY_BLOCK = 0x40;

function unsignedLeb(value: number): number[] {
  const bytes: number[] = [];
  do {
    let byte = value & 0x7f;
    value >>>= 7;
    if (value !== 0) byte |= 0x80;
    bytes.push(byte);
  } while (value !== 0);
  return bytes;
}

function signedLeb(value: number): number[] {
  const bytes: number[] = [];
  for (;;) {
    const byte = value & 0x7f;
    value >>= 7;
    if ((value === 0 && (byte & 0x40) === 0) || (value === -1 && (byte & 0x40) !== 0)) {
      bytes.push(byte);
      return bytes;
    }
    bytes.push(byte | 0x80);
  }
}

function name(text: string): number[] {
  const bytes = [...new TextEncoder().encode(text)];
  return [...unsignedLeb(bytes.length), ...bytes];
}

function vector(items: number[][]): number[] {
  return [...unsignedLeb(items.length), ...items.flat()];
}

/** The instructions of one function; locals are numbered after the parameters, in the order declared. */
export class FunctionBody {
  private readonly code: number[] = [];
  private readonly locals: ValTypeName[] = [];

  constructor(private readonly paramCount: number) {}

  local(type: ValTypeName): number {
    this.locals.push(type);
    return this.paramCount + this.locals.length - 1;
  }

  op(opcode: number, ...immediates: number[]): this {
    this.code.push(opcode, ...immediates.flatMap((i) => unsignedLeb(i)));
    return this;
  }

  i32(value: number): this {
    this.code.push(Op.i32Const, ...signedLeb(value));
    return this;
  }

  get(index: number): this {
    return this.op(Op.localGet, index);
  }

  set(index: number): this {
    return this.op(Op.localSet, index);
  }

  /** A load or store: alignment as log2 bytes, then a constant offset. */
  memory(opcode: number, alignLog2: number, offset = 0): this {
    return this.op(opcode, alignLog2, offset);
  }

  simd(opcode: number, ...memarg: number[]): this {
    this.code.push(0xfd, ...unsignedLeb(opcode), ...memarg.flatMap((i) => unsignedLeb(i)));
    return this;
  }

  /** `for (counter = 0; counter < limit; counter += step) body()`, counter and limit being i32 locals. */
  forLoop(counter: number, limit: number, step: number, body: () => void): this {
    this.i32(0).set(counter);
    this.code.push(Op.block, EMPTY_BLOCK, Op.loop, EMPTY_BLOCK);
    this.get(counter).get(limit).op(Op.i32GeU).op(Op.brIf, 1);
    body();
    this.get(counter).i32(step).op(Op.i32Add).set(counter);
    this.op(Op.br, 0).op(Op.end).op(Op.end);
    return this;
  }

  encode(): number[] {
    // Locals are declared as runs of one type each; one run per local keeps it simple.
    const locals = vector(this.locals.map((t) => [1, ValType[t]]));
    const body = [...locals, ...this.code, Op.end];
    return [...unsignedLeb(body.length), ...body];
  }
}

interface FunctionDef {
  name: string;
  params: ValTypeName[];
  body: FunctionBody;
}

export class ModuleWriter {
  private readonly functions: FunctionDef[] = [];

  constructor(private readonly memoryPages: number) {}

  /** Adds an exported function with no results; `build` writes its body. */
  function(name: string, params: ValTypeName[], build: (body: FunctionBody, ...params: number[]) => void): this {
    const body = new FunctionBody(params.length);
    build(body, ...params.map((_, i) => i));
    this.functions.push({ name, params, body });
    return this;
  }

  toBytes(): Uint8Array {
    const section = (id: number, content: number[]) => [id, ...unsignedLeb(content.length), ...content];
    const types = vector(this.functions.map((f) => [0x60, ...vector(f.params.map((p) => [ValType[p]])), 0]));
    const functionIndex = vector(this.functions.map((_, i) => unsignedLeb(i)));
    const memory = vector([[0x00, ...unsignedLeb(this.memoryPages)]]);
    const exports = vector([[...name('memory'), 0x02, 0], ...this.functions.map((f, i) => [...name(f.name), 0x00, ...unsignedLeb(i)])]);
    const code = vector(this.functions.map((f) => f.body.encode()));
    return Uint8Array.from([
      ...[0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00],
      ...section(1, types),
      ...section(3, functionIndex),
      ...section(5, memory),
      ...section(7, exports),
      ...section(10, code),
    ]);
  }
}
