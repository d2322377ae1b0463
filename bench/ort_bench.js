#!/usr/bin/env node
// Times one ONNX model on ONNX Runtime's CPU provider (the npm package onnxruntime-node), for bench/compare.
//
// usage: node ort_bench.js ORT_MODULE_DIR MODEL.onnx INPUTS_JSON [--runs N] [--warmup N] [--threads N]
// INPUTS_JSON: [{"name": "input", "dtype": "float32", "shape": [1, 3, 224, 224]}, ...] — the same
// shapes dlc and PyTorch are timed with. Data is deterministic pseudo-random (floats in [-1, 1),
// integers in [0, 10)). Prints one line: `ort=<version> threads=N runs=N load_ms=... min_ms=... mean_ms=... median_ms=...`.
'use strict';

const path = require('path');

function fail(message) {
  process.stderr.write(`ort_bench: error: ${message}\n`);
  process.exit(1);
}

function parseArgs(argv) {
  const opts = { runs: 10, warmup: 2, threads: 1, positional: [] };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--runs' || a === '--warmup' || a === '--threads') {
      const v = Number(argv[++i]);
      if (!Number.isInteger(v) || v < (a === '--warmup' ? 0 : 1)) fail(`${a} needs a positive integer (${argv[i]})`);
      opts[a.slice(2)] = v;
    } else if (a.startsWith('--')) {
      fail(`unknown option '${a}'`);
    } else {
      opts.positional.push(a);
    }
  }
  if (opts.positional.length !== 3) fail('usage: ort_bench.js ORT_MODULE_DIR MODEL.onnx INPUTS_JSON [--runs N] [--warmup N] [--threads N]');
  return opts;
}

// A small LCG: the data only has to be deterministic and free of denormals, not high quality.
function makeTensor(ort, spec, seed) {
  const count = spec.shape.reduce((a, b) => a * b, 1);
  let state = (seed * 2654435761) >>> 0;
  const next = () => {
    state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
    return state / 4294967296;
  };
  const arrays = {
    float32: Float32Array, float64: Float64Array, int8: Int8Array, uint8: Uint8Array, int16: Int16Array,
    uint16: Uint16Array, int32: Int32Array, uint32: Uint32Array, int64: BigInt64Array, bool: Uint8Array,
  };
  const Ctor = arrays[spec.dtype];
  if (!Ctor) fail(`input '${spec.name}' has dtype ${spec.dtype}, which this script does not generate`);
  const data = new Ctor(count);
  for (let i = 0; i < count; i++) {
    if (spec.dtype.startsWith('float')) data[i] = next() * 2 - 1;
    else if (spec.dtype === 'bool') data[i] = next() < 0.5 ? 0 : 1;
    else if (spec.dtype === 'int64') data[i] = BigInt(Math.floor(next() * 10));
    else data[i] = Math.floor(next() * 10);
  }
  return new ort.Tensor(spec.dtype, data, spec.shape);
}

async function main() {
  const opts = parseArgs(process.argv.slice(2));
  const [moduleDir, model, inputsJson] = opts.positional;
  let ort;
  try {
    ort = require(path.resolve(moduleDir, 'node_modules', 'onnxruntime-node'));
  } catch (e) {
    fail(`cannot load onnxruntime-node from ${moduleDir}: ${e.message}`);
  }
  const specs = JSON.parse(inputsJson);
  const loadStart = process.hrtime.bigint();
  const session = await ort.InferenceSession.create(model, {
    executionProviders: ['cpu'],
    intraOpNumThreads: opts.threads,
    interOpNumThreads: 1,
    executionMode: 'sequential',
    graphOptimizationLevel: 'all',
  });
  const loadMs = Number(process.hrtime.bigint() - loadStart) / 1e6;
  const feeds = {};
  specs.forEach((spec, i) => { feeds[spec.name] = makeTensor(ort, spec, i + 1); });

  for (let i = 0; i < opts.warmup; i++) await session.run(feeds);
  const times = [];
  for (let i = 0; i < opts.runs; i++) {
    const start = process.hrtime.bigint();
    await session.run(feeds);
    times.push(Number(process.hrtime.bigint() - start) / 1e6);
  }
  const sorted = [...times].sort((a, b) => a - b);
  const n = sorted.length;
  const median = n % 2 ? sorted[(n - 1) / 2] : (sorted[n / 2 - 1] + sorted[n / 2]) / 2;
  const mean = times.reduce((a, b) => a + b, 0) / n;
  const version = require(path.resolve(moduleDir, 'node_modules', 'onnxruntime-node', 'package.json')).version;
  console.log(`ort=${version} threads=${opts.threads} runs=${n} load_ms=${loadMs.toFixed(3)} ` +
              `min_ms=${sorted[0].toFixed(3)} mean_ms=${mean.toFixed(3)} median_ms=${median.toFixed(3)}`);
}

main().catch((e) => fail(e.message.split('\n')[0]));
