#!/usr/bin/env node
// Runs one ONNX model once on ONNX Runtime's CPU provider (npm onnxruntime-node), for
// check_export_ort.py: inputs and outputs travel as raw little-endian files described by JSON.
//
// usage: node ort_run.js ORT_MODULE_DIR MODEL.onnx SPEC.json OUT_DIR
//        node ort_run.js ORT_MODULE_DIR --batch JOBS.json
// SPEC.json: [{"name": "x", "dtype": "float32", "shape": [1, 3], "file": "in_0.bin"}, ...] (files
// relative to SPEC.json). Writes OUT_DIR/out_<i>.bin per output in the session's output order and
// OUT_DIR/outputs.json ([{"name", "dtype", "shape", "file"}, ...]); prints `ort=<version> outputs=<n>`.
// --batch runs many models in one process: JOBS.json is [{"model", "inputs": SPEC with absolute
// files, "out_dir"}, ...], and a model ONNX Runtime refuses leaves its message in OUT_DIR/error.txt.
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

// Runs `model` on the inputs of `specs` (files relative to `base`) and writes its outputs.
async function runModel(ort, model, specs, base, outDir) {
  const feeds = {};
  for (const spec of specs) {
    const Ctor = kArrays[spec.dtype];
    if (!Ctor) throw new Error(`input '${spec.name}' has dtype ${spec.dtype}, which this script does not read`);
    const bytes = fs.readFileSync(path.resolve(base, spec.file));
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
    if (!t || !t.data || !t.data.buffer) throw new Error(`output '${name}' is not a numeric tensor`);
    const file = `out_${i}.bin`;
    const buf = Buffer.from(t.data.buffer, t.data.byteOffset, t.data.byteLength);
    fs.writeFileSync(path.join(outDir, file), buf);
    return { name, dtype: t.type, shape: t.dims.map(Number), file };
  });
  fs.writeFileSync(path.join(outDir, 'outputs.json'), JSON.stringify(outputs));
  return outputs.length;
}

async function main() {
  const args = process.argv.slice(2);
  const batch = args.length === 3 && args[1] === '--batch';
  if (args.length !== 4 && !batch) fail('usage: ort_run.js ORT_MODULE_DIR (MODEL.onnx SPEC.json OUT_DIR | --batch JOBS.json)');
  const moduleDir = args[0];
  let ort;
  try {
    ort = require(path.resolve(moduleDir, 'node_modules', 'onnxruntime-node'));
  } catch (e) {
    fail(`cannot load onnxruntime-node from ${moduleDir}: ${e.message}`);
  }
  const version = require(path.resolve(moduleDir, 'node_modules', 'onnxruntime-node', 'package.json')).version;
  if (!batch) {
    const [, model, specFile, outDir] = args;
    const n = await runModel(ort, model, JSON.parse(fs.readFileSync(specFile, 'utf8')), path.dirname(specFile), outDir);
    console.log(`ort=${version} outputs=${n}`);
    return;
  }
  ort.env.logLevel = 'error';
  const jobs = JSON.parse(fs.readFileSync(args[2], 'utf8'));
  for (const job of jobs) {
    try {
      await runModel(ort, job.model, job.inputs, '/', job.out_dir);
    } catch (e) {
      fs.mkdirSync(job.out_dir, { recursive: true });
      fs.writeFileSync(path.join(job.out_dir, 'error.txt'), e.message.split('\n')[0]);
    }
  }
  console.log(`ort=${version} models=${jobs.length}`);
}

main().catch((e) => fail(e.message.split('\n')[0]));
