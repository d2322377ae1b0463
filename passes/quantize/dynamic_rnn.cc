// Dynamic quantization of LSTM and GRU: int8 weights, the input and the hidden state quantized as
// they arrive. LSTM becomes ONNX Runtime's DynamicQuantizeLSTM (what its quantize_dynamic writes,
// so the .onnx output runs there too); GRU becomes dlc's DynamicQuantizeGRU, which only a .dlc
// output keeps (ONNX Runtime has no quantized GRU).
#include <algorithm>
#include <cmath>

#include "passes/quantize/insert_qdq.h"
#include "passes/quantize/rewrite_util.h"

namespace dlc::quantize {
namespace {

// ONNX's W [D, G·H, K] (or R) as symmetric int8 in GEMM order [D, K, G·H], a scale per direction
// or per direction and gate column: q = clamp(round(w / s), -127, 127), s = max|w| / 127.
struct RecurrentWeight {
  Tensor values, scale, zero_point;
  std::vector<double> dequantized;  // in W's own order, for the SQNR
};

RecurrentWeight quantizeRecurrentWeight(const Tensor& w, bool per_channel) {
  const int64_t dirs = w.dim(0), n = w.dim(1), k = w.dim(2);
  const int64_t scales = per_channel ? n : 1;
  RecurrentWeight q;
  std::vector<int64_t> param_shape = per_channel ? std::vector<int64_t>{dirs, n} : std::vector<int64_t>{dirs};
  q.scale = Tensor(DType::F32, param_shape);
  q.zero_point = Tensor(DType::I8, param_shape);  // zeros: ONNX Runtime requires them for int8 per-column weights
  q.values = Tensor(DType::I8, {dirs, k, n});
  q.dequantized.resize(static_cast<size_t>(w.numel()));
  for (int64_t d = 0; d < dirs; ++d) {
    std::vector<double> max_abs(static_cast<size_t>(scales), 0.0);
    for (int64_t j = 0; j < n; ++j)
      for (int64_t i = 0; i < k; ++i) {
        double& m = max_abs[static_cast<size_t>(per_channel ? j : 0)];
        m = std::max(m, std::fabs(w.getDouble((d * n + j) * k + i)));
      }
    for (int64_t c = 0; c < scales; ++c)
      q.scale.setDouble(d * scales + c, max_abs[static_cast<size_t>(c)] > 0 ? max_abs[static_cast<size_t>(c)] / 127.0 : 1.0);
    for (int64_t j = 0; j < n; ++j) {
      const float s = static_cast<float>(q.scale.getDouble(d * scales + (per_channel ? j : 0)));
      for (int64_t i = 0; i < k; ++i) {
        const int64_t src = (d * n + j) * k + i;
        const double v = std::min(127.0, std::max(-127.0, static_cast<double>(std::nearbyint(static_cast<float>(w.getDouble(src)) / s))));
        q.values.setDouble((d * k + i) * n + j, v);
        q.dequantized[static_cast<size_t>(src)] = v * s;
      }
    }
  }
  return q;
}

}  // namespace

std::string unsuitableRecurrent(const Op& op, const QuantizeOptions& options) {
  const Value* x = op.operand(0);
  if (!x || !x->type().isTensor() || x->type().dtype != DType::F32) return "its input is not an f32 tensor";
  if (!floatConstant(op.operand(1)) || !floatConstant(op.operand(2))) return "W and R are not constant f32 tensors";
  if (op.kind() == OpKind::LSTM && op.getInt("layout", 0) != 0)
    return "batch-first layout (ONNX Runtime's DynamicQuantizeLSTM has only layout 0)";
  if (op.kind() == OpKind::GRU && !options.dlc_ops)
    return "ONNX has no dynamically quantized GRU that ONNX Runtime runs (a .dlc output quantizes it)";
  return {};
}

Status insertDynamicRecurrent(Op& op, const QuantizeOptions& options, NameSet& names, QuantizeResult& result) {
  const bool lstm = op.kind() == OpKind::LSTM;
  const int float_operands = lstm ? 8 : 6;  // X, W, R, B, sequence_lens, initial_h(, initial_c, P)
  passes::Rewriter rw(op);
  std::vector<Value*> operands(op.operands().begin(), op.operands().end());
  operands.resize(static_cast<size_t>(float_operands), nullptr);
  std::vector<Value*> params;
  for (int i : {1, 2}) {
    const Tensor& w = *floatConstant(op.operand(i));
    RecurrentWeight q = quantizeRecurrentWeight(w, options.per_channel);
    const std::string name = op.operand(i)->name();
    if (i == 1) result.weights.push_back({op.location(), op.name(), 0, 0});
    WeightReport& report = result.weights.back();
    report.elements += w.numel();
    // The layer's SQNR: the lower of W's and R's.
    report.sqnr_db = i == 1 ? sqnrDb(w, q.dequantized) : std::min(report.sqnr_db, sqnrDb(w, q.dequantized));
    result.float_weight_bytes += w.numel() * 4;
    result.quantized_weight_bytes += w.numel() + q.scale.numel() * 5;
    operands[static_cast<size_t>(i)] = rw.constant(q.values, names.unique(name + "_quantized"));
    params.push_back(rw.constant(q.scale, names.unique(name + "_scale")));
    params.push_back(rw.constant(q.zero_point, names.unique(name + "_zero_point")));
  }
  operands.insert(operands.end(), params.begin(), params.end());
  std::map<std::string, Attribute> attrs = op.attrs();
  if (lstm) attrs.erase("layout");  // 0, checked by unsuitableRecurrent
  DLC_ASSIGN_OR_RETURN(Op* q, rw.create(lstm ? OpKind::DynamicQuantizeLSTM : OpKind::DynamicQuantizeGRU, operands, attrs,
                                        op.numResults(), op.location()));
  std::vector<Value*> results;
  for (int r = 0; r < op.numResults(); ++r) {
    q->result(r)->setName(op.result(r)->name());
    results.push_back(q->result(r));
  }
  rw.replaceOp(op, results);
  return Status::success();
}

}  // namespace dlc::quantize
