// Half-precision compute, the way mixed-precision training's autocast does it: the planned
// Conv/MatMul/Gemm run in f16 or bf16, and so do the ops that follow them on an allow-list
// (activations, residual adds, pooling, data movement) as long as a half value feeds them, so a
// chain of layers stays in half with no casts between; numerically sensitive ops (Softmax, norms,
// reductions, exp/log, losses: everything not on the list) read an f32 copy, and the graph's
// outputs are f32 again. For ONNX output an op joins only where ONNX opset 17 has its half form
// (bfloat16 Conv and pooling do not exist there).
#include <set>

#include "ir/dtype_onnx.h"
#include "passes/quantize/insert_qdq.h"
#include "passes/quantize/rewrite_util.h"

namespace dlc::quantize {
namespace {

bool isF32(const Value* v) { return v && v->type().isTensor() && v->type().dtype == DType::F32; }

// Ops that may run on half values when one reaches them. `onnx_bf16`: valid for bfloat16 in
// ONNX opset 17 too.
bool halfFollower(OpKind k, bool onnx_bf16) {
  switch (k) {
    case OpKind::Relu: case OpKind::LeakyRelu: case OpKind::Clip: case OpKind::Add: case OpKind::Sub:
    case OpKind::Mul: case OpKind::Sigmoid: case OpKind::Reshape: case OpKind::Flatten: case OpKind::Transpose:
    case OpKind::Squeeze: case OpKind::Unsqueeze: case OpKind::Concat: case OpKind::Identity: case OpKind::Slice:
      return true;
    case OpKind::MaxPool: case OpKind::AveragePool: case OpKind::GlobalAveragePool:
      return !onnx_bf16;
    default:
      return false;
  }
}

}  // namespace

Expected<QuantizeResult> insertHalfCompute(Graph& g, const QuantPlan& plan, const QuantizeOptions& options) {
  QuantizeResult result;
  NameSet names(g);
  const DType half = options.half_dtype;
  const bool onnx_bf16 = half == DType::BF16 && !options.half_compute_conv;
  const char* suffix = half == DType::F16 ? "_fp16" : "_bf16";
  std::set<const Op*> planned;
  for (const PlannedOp& p : plan.ops) planned.insert(p.op);
  QuantPlan f32_compute;                      // planned ops ONNX cannot run in half: weights only
  std::map<const Value*, Value*> half_of;     // f32 value -> its half copy (or the half value it copies)
  std::set<const Value*> half_values;
  std::vector<Op*> ops;
  for (const auto& op : g.body().ops()) ops.push_back(op.get());
  for (Op* op : ops) {
    const bool compute = planned.count(op) > 0;
    if (compute && op->kind() == OpKind::Conv && onnx_bf16) {
      f32_compute.ops.push_back({op, op->operand(0), op->result()});
      result.f32_compute.push_back({op->location(), op->name(), "ONNX's Conv has no bfloat16 form: bf16 weights, f32 compute"});
      continue;
    }
    bool fed_half = false;
    for (const Value* v : op->operands()) fed_half = fed_half || (v && half_of.count(v) && half_values.count(half_of.at(v)));
    if (!compute && !(fed_half && halfFollower(op->kind(), onnx_bf16))) continue;
    bool results_f32 = true;
    for (int r = 0; r < op->numResults(); ++r) results_f32 = results_f32 && (isF32(op->result(r)) || !op->result(r)->hasUses());
    if (!results_f32 || op->numResults() != 1) continue;
    // Weights that do not fit the half type keep the op in f32.
    bool fits = true;
    for (const Value* v : op->operands()) {
      const Tensor* w = v && !half_of.count(v) ? floatConstant(v) : nullptr;
      fits = fits && (!w || fitsHalf(*w, half));
    }
    if (!fits) {
      if (compute) result.f32_compute.push_back({op->location(), op->name(), str("a weight is beyond ", dtypeName(half), "'s range: f32")});
      continue;
    }
    passes::Rewriter rw(*op);
    std::vector<Value*> operands(op->operands().begin(), op->operands().end());
    for (size_t i = 0; i < operands.size(); ++i) {
      Value* v = operands[i];
      if (!isF32(v)) continue;
      auto it = half_of.find(v);
      if (it == half_of.end()) {
        Value* h = nullptr;
        if (const Tensor* w = floatConstant(v)) {
          Tensor t = w->castTo(half);
          if (compute && i == 1) {
            std::vector<double> deq(static_cast<size_t>(w->numel()));
            Tensor back = t.castTo(DType::F32);
            for (int64_t k = 0; k < w->numel(); ++k) deq[static_cast<size_t>(k)] = back.getDouble(k);
            result.weights.push_back({op->location(), op->name(), w->numel(), sqnrDb(*w, deq)});
          }
          if (compute && i <= 2) {
            result.float_weight_bytes += w->numel() * 4;
            result.quantized_weight_bytes += w->numel() * 2;
          }
          h = rw.constant(t, names.unique(v->name() + suffix));
        } else {
          DLC_ASSIGN_OR_RETURN(Op* cast, rw.create(OpKind::Cast, {v}, {{"to", Attribute::ofInt(dtypeToOnnxCode(half))}}, 1,
                                                   op->location() + "_input" + suffix));
          h = cast->result();
          h->setName(names.unique(v->name() + suffix));
        }
        it = half_of.emplace(v, h).first;
      }
      operands[i] = it->second;
    }
    DLC_ASSIGN_OR_RETURN(Op* computed, rw.create(op->kind(), operands, op->attrs(), 1, op->location()));
    computed->result()->setName(names.unique(op->result()->name() + suffix));
    // The f32 view of the result, for readers that stay f32 (dce removes it when none do).
    DLC_ASSIGN_OR_RETURN(Op* back, rw.create(OpKind::Cast, {computed->result()}, {{"to", Attribute::ofInt(1)}}, 1,
                                             op->location() + "_f32"));
    back->result()->setName(op->result()->name());
    half_of[back->result()] = computed->result();
    half_values.insert(computed->result());
    rw.replaceOp(*op, {back->result()});
  }
  DLC_ASSIGN_OR_RETURN(QuantizeResult rest, insertHalfWeights(g, f32_compute, options));
  result.weights.insert(result.weights.end(), rest.weights.begin(), rest.weights.end());
  result.float_weight_bytes += rest.float_weight_bytes;
  result.quantized_weight_bytes += rest.quantized_weight_bytes;
  return result;
}

}  // namespace dlc::quantize
