// Static post-training quantization of a float graph into QDQ form: which ops are quantized, which
// tensors need calibration statistics, and the rewrite that inserts QuantizeLinear/DequantizeLinear
// pairs on activations and int8 weights (and int32 biases) from those statistics. fuse-qdq then
// lowers the result to integer kernels; exported as is, it is the QDQ ONNX other runtimes read.
#pragma once

#include <map>
#include <set>
#include <string>
#include <vector>

#include "ir/graph.h"
#include "ir/status.h"
#include "passes/name_set.h"
#include "passes/quantize/calibration.h"

namespace dlc::quantize {

enum class QuantizeMode {
  Static,   // activations quantized with calibrated parameters (QDQ), Conv/MatMul/Gemm
  Dynamic,  // activations quantized at run time (DynamicQuantizeLinear + MatMulInteger), MatMul/Gemm;
            // LSTM/GRU as DynamicQuantizeLSTM/GRU
  HalfWeights,  // Conv/MatMul/Gemm weights stored as f16 or bf16 (`half_dtype`), computed in f32
  WeightOnly,   // MatMul/Gemm weights as block-quantized 4- or 8-bit codes (MatMulNBits), f32 activations
};

struct QuantizeOptions {
  QuantizeMode mode = QuantizeMode::Static;
  DType activation_dtype = DType::U8;  // u8 or i8; weights are always symmetric i8
  DType half_dtype = DType::F16;       // HalfWeights: f16 or bf16
  bool half_compute = false;           // HalfWeights: Conv/MatMul/Gemm also compute in half_dtype
  bool half_compute_conv = true;       // ... Conv too (false for ONNX output: its Conv has no bf16)
  bool dlc_ops = true;                 // Dynamic: dlc's own DynamicQuantizeGRU too (false for ONNX output)
  int weight_bits = 4;                 // WeightOnly: 4 or 8
  int64_t block_size = 128;            // WeightOnly: weights per scale along K (a power of two >= 16)
  bool symmetric = false;              // activations (WeightOnly: weight blocks) with the zero point at the middle
  bool per_channel = false;            // a weight scale per output channel
  bool bias_correction = false;        // static: remove the weight rounding's mean output error (needs input means)
  CalibrationMethod method = CalibrationMethod::MinMax;
  double percentile = 99.99;
  std::set<std::string> exclude_nodes;  // node names (op locations) left in float
  std::set<std::string> exclude_ops;    // op types left in float
};

// Ops that only select or move values, so Q(op(DQ(x))) = op(x) when Q has DQ's parameters (max
// commutes with the monotonic Q, and Q(DQ(x)) = x): fuse-qdq runs them on the integers, and the
// planner gives their result their input's parameters. Every operand of Concat carries data;
// operand 0 of the others does.
bool movesValues(const Op& op);

struct PlannedOp {
  Op* op = nullptr;
  Value* input = nullptr;   // the activation operand, quantized
  Value* output = nullptr;  // the quantized result (after a following bias Add and Relu/Clip)
};

struct SkippedOp {
  std::string node, op_type, reason;
};

struct QuantPlan {
  std::vector<PlannedOp> ops;
  std::vector<Value*> points;                    // every tensor that gets a Q/DQ pair, in graph order
  std::map<const Value*, const Value*> same_as;  // data-movement results that take their input's parameters
  std::vector<Value*> calibrated;                // the points whose statistics are gathered
  std::vector<SkippedOp> skipped;                // Conv/MatMul/Gemm left in float, and why
};

// Chooses the ops to quantize (Conv, MatMul and Gemm with constant float weights, not excluded;
// MatMul, Gemm, LSTM and GRU in dynamic mode) among the top-level ops of `g`, and (static mode) the
// activation tensors around them.
QuantPlan planQuantization(const Graph& g, const QuantizeOptions& options);

// Symmetric int8 weights: w_q = clamp(round(w / s), -127, 127) with s = max|w| / 127 per tensor,
// or per index of `axis` when `per_channel`.
struct QuantizedWeight {
  Tensor values;  // i8, w's shape
  Tensor scale;   // f32: a scalar, or [w.dim(axis)]
  double sqnr_db = 0;
};
QuantizedWeight quantizeWeight(const Tensor& w, int axis, bool per_channel);

// Block-wise weight-only quantization of W [N, K] (row n = output n) into MatMulNBits' layout
// (ir/nbits_layout.h). Asymmetric: per block, the range [min(w, 0), max(w, 0)] maps onto codes
// 0..2^bits - 1, s = (max - min) / (2^bits - 1), z = round(-min / s). Symmetric: z = 2^(bits-1)
// (not stored), s = max|w| / (2^(bits-1) - 1).
struct BlockQuantizedWeight {
  Tensor codes;        // u8 [N, blocks, block * bits / 8]
  Tensor scales;       // f32 [N * blocks]
  Tensor zero_points;  // u8 [N * ceil(blocks * bits / 8)]; empty when symmetric
  double sqnr_db = 0;
};
BlockQuantizedWeight quantizeWeightBlocks(const Tensor& w_nk, int bits, int64_t block_size, bool symmetric);

struct WeightReport {
  std::string node, op_type;
  int64_t elements = 0;
  double sqnr_db = 0;  // 10·log10(Σw² / Σ(w - DQ(Q(w)))²); +inf when exact
  double bias_shift = 0;  // bias correction: the largest change of a bias value (0 when not corrected)
};

struct ActivationReport {
  std::string tensor;
  double lo = 0, hi = 0;  // the calibrated range
  ActivationParams params;
};

struct QuantizeResult {
  std::vector<WeightReport> weights;
  std::vector<ActivationReport> activations;
  int64_t float_weight_bytes = 0, quantized_weight_bytes = 0;
  std::vector<SkippedOp> f32_compute;  // half compute: ops computing in f32 all the same, and why
};

// Rewrites `g` (the graph `plan` was made on) into QDQ form, stats[i] belonging to
// plan.calibrated[i]; in dynamic mode (no statistics), each planned op into
//   DynamicQuantizeLinear(x) -> MatMulInteger(x_q, w_q, x_zp) -> Cast f32 -> · (x_scale·w_scale) [+ bias];
// in HalfWeights mode, each planned op's weight (and bias) W into Cast<f32>(W as f16/bf16); in
// WeightOnly mode, each planned MatMul/Gemm into MatMulNBits(x, codes, scales, zero points?, bias?).
//
// Bias correction (static, options.bias_correction): the rounded weight Ŵ = DQ(Q(W)) shifts the
// mean output of channel n by Σ_k (Ŵ - W)[n, k]·E[x_k] (Conv: k over the input channels of n's
// group and the kernel taps, E[x_c] per input channel, borders' zero padding aside), which is
// subtracted from the bias (one is added where there was none). `input_means` holds E[x] per
// channel (Conv: axis 1; MatMul/Gemm: the last axis) of each planned op's input, by op location.
Expected<QuantizeResult> insertQdq(Graph& g, const QuantPlan& plan, const std::vector<TensorStats>& stats,
                                   const QuantizeOptions& options,
                                   const std::map<std::string, std::vector<double>>& input_means = {});

// HalfWeights with half_compute (half_compute.cc): each planned op runs on Cast<half>(x) with half
// weights, its result Cast back to f32; the ops it leaves computing in f32 are listed, with why,
// in the result's f32_compute.
Expected<QuantizeResult> insertHalfCompute(Graph& g, const QuantPlan& plan, const QuantizeOptions& options);
// The weights-only half conversion (insert_qdq.cc), used by insertHalfCompute for the rest.
Expected<QuantizeResult> insertHalfWeights(Graph& g, const QuantPlan& plan, const QuantizeOptions& options);

// Dynamic mode's LSTM/GRU (dynamic_rnn.cc): why `op` cannot be quantized (empty when it can), and
// the rewrite of one planned op into DynamicQuantizeLSTM/GRU with int8 weights (symmetric; a scale
// per direction, or per direction and gate column with per_channel).
std::string unsuitableRecurrent(const Op& op, const QuantizeOptions& options);
Status insertDynamicRecurrent(Op& op, const QuantizeOptions& options, passes::NameSet& names, QuantizeResult& result);

// The WeightOnly part of insertQdq (weight_only.cc).
Expected<QuantizeResult> insertWeightOnly(Graph& g, const QuantPlan& plan, const QuantizeOptions& options);

}  // namespace dlc::quantize
