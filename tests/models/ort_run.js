#!/usr/bin/env node
// Runs one ONNX model once on ONNX Runtime's CPU provider (npm onnxruntime-node), for
// check_export_ort.py: inputs and outputs travel as raw little-endian files described by JSON.
//
// usage: node ort_run.js ORT_MODULE_DIR MODEL.onnx SPEC.json OUT_DIR
// SPEC.json: [{"name": "x", "dtype": "float32", "shape": [1, 3], "file": "in_0.bin"}, ...]. Writes
// OUT_DIR/out_<i>.bin per output in the session's output order and OUT_DIR/outputs.json
// ([{"name", "dtype", "shape", "file"}, ...]); prints `ort=<version> outputs=<n>`.
'use strict';

const fs = require('fs');
const path = require('path');

function fail(message) {
  process.stderr.write(`ort_run: error: ${message}\n`);
  process.exit(1);
}

const kArrays = {
  float32: Float32Array, float64: Float64Array, int8: Int8Array, uint8: Uint8Array, int16: Int16Array,
  uint16: Uint16Array, int32: Int32Array, uint32: Uint32Array, int64: BigInt64Array, uint64: BigUint64Array,
  bool: Uint8Array,
};

async function main() {
  const args = process.argv.slice(2);
  if (args.length !== 4) fail('usage: ort_run.js ORT_MODULE_DIR MODEL.onnx SPEC.json OUT_DIR');
  const [moduleDir, model, specFile, outDir] = args;
  let ort;
  try {
    ort = require(path.resolve(moduleDir, 'node_modules', 'onnxruntime-node'));
  } catch (e) {
    fail(`cannot load onnxruntime-node from ${moduleDir}: ${e.message}`);
  }
  const specs = JSON.parse(fs.readFileSync(specFile, 'utf8'));
  const feeds = {};
  for (const spec of specs) {
    const Ctor = kArrays[spec.dtype];
    if (!Ctor) fail(`input '${spec.name}' has dtype ${spec.dtype}, which this script does not read`);
    const bytes = fs.readFileSync(path.resolve(path.dirname(specFile), spec.file));
    const data = new Ctor(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength));
    feeds[spec.name] = new ort.Tensor(spec.dtype, data, spec.shape);
  }
  // Graph optimizations off: ORT should run the exported graph as written, not its own rewrite.
  const session = await ort.InferenceSession.create(model, {
    executionProviders: ['cpu'], graphOptimizationLevel: 'disabled', intraOpNumThreads: 1,
  });
  const results = await session.run(feeds);
  fs.mkdirSync(outDir, { recursive: true });
  const outputs = session.outputNames.map((name, i) => {
    const t = results[name];
    const file = `out_${i}.bin`;
    const buf = Buffer.from(t.data.buffer, t.data.byteOffset, t.data.byteLength);
    fs.writeFileSync(path.join(outDir, file), buf);
    return { name, dtype: t.type, shape: t.dims.map(Number), file };
  });
  fs.writeFileSync(path.join(outDir, 'outputs.json'), JSON.stringify(outputs));
  const version = require(path.resolve(moduleDir, 'node_modules', 'onnxruntime-node', 'package.json')).version;
  console.log(`ort=${version} outputs=${outputs.length}`);
}

main().catch((e) => fail(e.message.split('\n')[0]));
