import onnxProto from 'onnx-proto';

const { onnx } = onnxProto;

/** Element types this project writes; values are ONNX TensorProto.DataType codes. */
export const DataType = { float: 1, uint8: 2, int8: 3, int32: 6, int64: 7, double: 11 } as const;
export type DataTypeName = keyof typeof DataType;

/** A dimension is a fixed size or a symbolic name (e.g. 'N' for a dynamic batch). */
export type Dim = number | string;

export type AttributeValue = number | number[] | string | { floats: number[] } | { float: number };

type TensorData = Float32Array | Float64Array | BigInt64Array | Uint8Array | Int8Array | Int32Array;

/**
 * Writes an ONNX ModelProto from a few calls, for the small graphs the project generates itself
 * (linear algebra kernels run by onnxruntime, tiny test models, the MobileNetV2 builder).
 */
export class GraphBuilder {
  private readonly nodes: InstanceType<typeof onnx.NodeProto>[] = [];
  private readonly inputs: InstanceType<typeof onnx.ValueInfoProto>[] = [];
  private readonly outputs: InstanceType<typeof onnx.ValueInfoProto>[] = [];
  private readonly initializers: InstanceType<typeof onnx.TensorProto>[] = [];
  private nodeCount = 0;
  private readonly extraOpsets: { domain: string; version: number }[] = [];

  constructor(
    private readonly name: string,
    private readonly opset = 13,
  ) {}

  input(name: string, type: DataTypeName, dims: Dim[]): this {
    this.inputs.push(valueInfo(name, type, dims));
    return this;
  }

  output(name: string, type: DataTypeName, dims: Dim[]): this {
    this.outputs.push(valueInfo(name, type, dims));
    return this;
  }

  initializer(name: string, data: TensorData, dims: number[]): this {
    const expected = dims.reduce((a, b) => a * b, 1);
    if (data.length !== expected) {
      throw new Error(`initializer ${name}: ${data.length} values for shape [${dims.join(',')}]`);
    }
    const tensor = onnx.TensorProto.create({ name, dims, dataType: tensorType(data) });
    // raw_data is little-endian bytes, which is what typed arrays hold on every platform Node runs on.
    tensor.rawData = new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
    this.initializers.push(tensor);
    return this;
  }

  /** Imports another operator set (e.g. `com.microsoft` for onnxruntime's QLinearAdd); the default domain is always imported. */
  importOpset(domain: string, version: number): this {
    if (!this.extraOpsets.some((o) => o.domain === domain)) this.extraOpsets.push({ domain, version });
    return this;
  }

  /** Adds a node; `domain` is for operators outside the default ONNX domain (import it with `importOpset`). */
  node(opType: string, inputs: string[], outputs: string[], attributes: Record<string, AttributeValue> = {}, domain?: string): this {
    this.nodes.push(
      onnx.NodeProto.create({
        name: `${opType.toLowerCase()}_${this.nodeCount++}`,
        opType,
        ...(domain ? { domain } : {}),
        input: inputs,
        output: outputs,
        attribute: Object.entries(attributes).map(([key, value]) => attribute(key, value)),
      }),
    );
    return this;
  }

  toBytes(): Uint8Array {
    const model = onnx.ModelProto.create({
      irVersion: 8,
      producerName: 'fruits',
      opsetImport: [{ domain: '', version: this.opset }, ...this.extraOpsets],
      graph: onnx.GraphProto.create({
        name: this.name,
        node: this.nodes,
        input: this.inputs,
        output: this.outputs,
        initializer: this.initializers,
      }),
    });
    return onnx.ModelProto.encode(model).finish();
  }
}

function tensorType(data: TensorData): number {
  if (data instanceof Float32Array) return DataType.float;
  if (data instanceof Float64Array) return DataType.double;
  if (data instanceof BigInt64Array) return DataType.int64;
  if (data instanceof Int8Array) return DataType.int8;
  if (data instanceof Int32Array) return DataType.int32;
  return DataType.uint8;
}

function valueInfo(name: string, type: DataTypeName, dims: Dim[]) {
  return onnx.ValueInfoProto.create({
    name,
    type: {
      tensorType: {
        elemType: DataType[type],
        shape: { dim: dims.map((d) => (typeof d === 'number' ? { dimValue: d } : { dimParam: d })) },
      },
    },
  });
}

function attribute(name: string, value: AttributeValue) {
  const T = onnx.AttributeProto.AttributeType;
  if (typeof value === 'string') return { name, type: T.STRING, s: new TextEncoder().encode(value) };
  if (typeof value === 'number') return { name, type: T.INT, i: value };
  if (Array.isArray(value)) return { name, type: T.INTS, ints: value };
  if ('floats' in value) return { name, type: T.FLOATS, floats: value.floats };
  return { name, type: T.FLOAT, f: value.float };
}
