// Static quantization into QDQ form: the plan (which ops, which tensors) and the rewrite.
#include "passes/quantize/insert_qdq.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <unordered_map>

#include "ir/builder.h"
#include "passes/pattern.h"
#include "passes/quantize/rewrite_util.h"

namespace dlc::quantize {
namespace {

using passes::constantValue;
using passes::hasSingleUse;

bool isF32Tensor(const Value* v) { return v && v->type().isTensor() && v->type().dtype == DType::F32; }


// The only user of `v` when it has exactly one use that is an op.
Op* soleUser(const Value* v) {
  if (!hasSingleUse(v)) return nullptr;
  return v->uses()[0].user;
}

bool isClamp(const Op& op) {
  if (op.kind() == OpKind::Relu) return true;
  if (op.kind() != OpKind::Clip) return false;
  for (int i = 1; i <= 2; ++i)
    if (op.operand(i) && !constantValue(op.operand(i))) return false;
  return true;
}

// Why `op` cannot be quantized (empty when it can), with its float activation and weight.
std::string unsuitable(const Op& op) {
  const Value* x = op.operand(0);
  const Value* w = op.operand(1);
  if (!isF32Tensor(x) || !x->type().shape.ranked) return "its input is not a ranked f32 tensor";
  const Tensor* wt = floatConstant(w);
  switch (op.kind()) {
    case OpKind::Conv:
      if (!wt || wt->rank() < 3) return "its weight is not a constant f32 tensor";
      if (op.operand(2) && !floatConstant(op.operand(2))) return "its bias is not a constant";
      return {};
    case OpKind::MatMul:
      if (!wt || wt->rank() != 2) return "its second operand is not a constant 2-D f32 weight";
      if (x->type().shape.rank() < 2) return "its first operand is a vector";
      return {};
    case OpKind::Gemm:
      if (op.getInt("transA", 0) != 0 || op.getFloat("alpha", 1.0f) != 1.0f) return "transA or alpha != 1";
      if (!wt || wt->rank() != 2) return "its B is not a constant 2-D f32 weight";
      if (op.operand(2) && !floatConstant(op.operand(2))) return "its C is not a constant";
      return {};
    default:
      return "not a quantizable op";
  }
}

// The tensor quantized after `op`: its result, or that of a following bias Add (MatMul) and of a
// following Relu/Clip, when each is the only user.
Value* outputPoint(Op& op) {
  Value* v = op.result();
  if (op.kind() == OpKind::MatMul) {
    Op* add = soleUser(v);
    if (add && add->kind() == OpKind::Add) {
      Value* other = add->operand(0) == v ? add->operand(1) : add->operand(0);
      if (floatConstant(other)) v = add->result();
    }
  }
  Op* act = soleUser(v);
  if (act && isClamp(*act) && act->operand(0) == v) v = act->result();
  return v;
}


// The op after which a value's Q/DQ goes: before the op following its producer, or before the
// first op for graph arguments.
Op* insertionPoint(const Value* v, const std::unordered_map<const Op*, Op*>& next, const Region& body) {
  if (!v->definingOp()) return body.ops().empty() ? nullptr : body.ops().front().get();
  auto it = next.find(v->definingOp());
  return it == next.end() ? nullptr : it->second;
}


// Σ_k (Ŵ - W)[n, k]·E[x_k] for each output channel n of `op` (insert_qdq.h's bias correction);
// empty when `mean` does not fit the weight.
std::vector<double> meanOutputShift(const Op& op, const Tensor& w, const QuantizedWeight& qw, int axis, bool per_channel,
                                    const std::vector<double>& mean) {
  const int64_t outputs = w.dim(axis), numel = w.numel();
  std::vector<double> shift(static_cast<size_t>(outputs), 0.0);
  auto deq = [&](int64_t i, int64_t n) {
    return qw.values.getDouble(i) * static_cast<float>(qw.scale.getDouble(per_channel ? n : 0));
  };
  if (op.kind() == OpKind::Conv) {
    const int64_t per_group_in = w.dim(1), groups = op.getInt("group", 1), taps = numel / (outputs * per_group_in);
    if (static_cast<int64_t>(mean.size()) != per_group_in * groups || outputs % groups != 0) return {};
    for (int64_t i = 0; i < numel; ++i) {
      const int64_t m = i / (per_group_in * taps), c = (i / taps) % per_group_in, g = m / (outputs / groups);
      shift[static_cast<size_t>(m)] += (deq(i, m) - w.getDouble(i)) * mean[static_cast<size_t>(g * per_group_in + c)];
    }
    return shift;
  }
  const int64_t k = numel / outputs;
  if (static_cast<int64_t>(mean.size()) != k) return {};
  for (int64_t i = 0; i < numel; ++i) {
    const int64_t n = axis == 0 ? i / k : i % outputs, kk = axis == 0 ? i % k : i / outputs;
    shift[static_cast<size_t>(n)] += (deq(i, n) - w.getDouble(i)) * mean[static_cast<size_t>(kk)];
  }
  return shift;
}

// Subtracts `shift` from op's bias: Conv's B or Gemm's C (added when absent; C is divided by beta),
// or the constant of the Add that follows a MatMul. False when there is no bias to correct.
bool subtractFromBias(Op& op, const std::vector<double>& shift, Builder& b, NameSet& names) {
  const int64_t n = static_cast<int64_t>(shift.size());
  auto corrected = [&](const Tensor* old, double divide) {
    Tensor t(DType::F32, {n});
    for (int64_t i = 0; i < n; ++i) t.setDouble(i, (old ? old->getDouble(i) : 0.0) - shift[static_cast<size_t>(i)] / divide);
    return t;
  };
  if (op.kind() == OpKind::MatMul) {
    Op* add = soleUser(op.result());
    if (!add || add->kind() != OpKind::Add) return false;
    const int slot = add->operand(0) == op.result() ? 1 : 0;
    const Tensor* c = floatConstant(add->operand(slot));
    if (!c || c->numel() != n || c->dim(c->rank() - 1) != n) return false;
    Tensor t = corrected(c, 1.0);
    t = Tensor::fromBytes(DType::F32, c->shape(), t.raw(), static_cast<size_t>(n) * 4);
    add->setOperand(slot, b.constant(t, names.unique(add->operand(slot)->name() + "_corrected")));
    return true;
  }
  const double divide = op.kind() == OpKind::Gemm ? op.getFloat("beta", 1.0f) : 1.0;
  if (divide == 0) return false;
  const Value* old = op.numOperands() > 2 ? op.operand(2) : nullptr;
  const Tensor* c = old ? floatConstant(old) : nullptr;
  if (old && (!c || c->rank() != 1 || c->numel() != n)) return false;
  Value* v = b.constant(corrected(c, divide), names.unique((old ? old->name() : op.result()->name()) + "_bias_corrected"));
  if (op.numOperands() > 2) {
    op.setOperand(2, v);
  } else {
    std::vector<Value*> operands(op.operands().begin(), op.operands().end());
    operands.push_back(v);
    op.setOperands(operands);
  }
  return true;
}

}  // namespace

bool movesValues(const Op& op) {
  switch (op.kind()) {
    case OpKind::MaxPool: return op.numResults() == 1;
    case OpKind::Reshape: case OpKind::Flatten: case OpKind::Transpose: case OpKind::Squeeze:
    case OpKind::Unsqueeze: case OpKind::Identity: case OpKind::Concat: case OpKind::Slice:
    case OpKind::Gather: case OpKind::Expand: case OpKind::Tile:
      return true;
    default:
      return false;
  }
}

QuantizedWeight quantizeWeight(const Tensor& w, int axis, bool per_channel) {
  const int64_t channels = w.dim(axis);
  int64_t inner = 1;  // elements between consecutive indices of `axis`
  for (int d = axis + 1; d < w.rank(); ++d) inner *= w.dim(d);
  auto channelOf = [&](int64_t i) { return per_channel ? (i / inner) % channels : 0; };
  std::vector<double> max_abs(static_cast<size_t>(per_channel ? channels : 1), 0.0);
  for (int64_t i = 0; i < w.numel(); ++i) {
    double& m = max_abs[static_cast<size_t>(channelOf(i))];
    m = std::max(m, std::fabs(w.getDouble(i)));
  }
  QuantizedWeight q;
  q.scale = Tensor(DType::F32, per_channel ? std::vector<int64_t>{channels} : std::vector<int64_t>{});
  for (size_t c = 0; c < max_abs.size(); ++c) q.scale.setDouble(static_cast<int64_t>(c), max_abs[c] > 0 ? max_abs[c] / 127.0 : 1.0);
  q.values = Tensor(DType::I8, w.shape());
  std::vector<double> deq(static_cast<size_t>(w.numel()));
  for (int64_t i = 0; i < w.numel(); ++i) {
    const float s = static_cast<float>(q.scale.getDouble(channelOf(i)));
    double v = std::min(127.0, std::max(-127.0, static_cast<double>(std::nearbyint(static_cast<float>(w.getDouble(i)) / s))));
    q.values.setDouble(i, v);
    deq[static_cast<size_t>(i)] = v * s;
  }
  q.sqnr_db = sqnrDb(w, deq);
  return q;
}

QuantPlan planQuantization(const Graph& g, const QuantizeOptions& options) {
  QuantPlan plan;
  std::set<const Value*> seen;
  auto addPoint = [&](Value* v) {
    if (seen.insert(v).second) plan.points.push_back(v);
  };
  for (const auto& owned : g.body().ops()) {
    Op& op = *owned;
    const bool recurrent = op.kind() == OpKind::LSTM || op.kind() == OpKind::GRU;
    if (op.kind() != OpKind::Conv && op.kind() != OpKind::MatMul && op.kind() != OpKind::Gemm && !recurrent) continue;
    SkippedOp skip{op.location(), op.name(), {}};
    const bool dynamic = options.mode == QuantizeMode::Dynamic;
    const bool weight_only = options.mode == QuantizeMode::WeightOnly;
    if (recurrent && !dynamic) skip.reason = "LSTM and GRU are quantized by --mode dynamic";
    else if (dynamic && op.kind() == OpKind::Conv) skip.reason = "dynamic quantization covers MatMul, Gemm, LSTM and GRU";
    else if (weight_only && op.kind() == OpKind::Conv) skip.reason = "weight-only quantization covers MatMul and Gemm";
    else if (options.exclude_nodes.count(op.location())) skip.reason = "excluded by --exclude";
    else if (options.exclude_ops.count(op.name())) skip.reason = "excluded by --exclude-op";
    else skip.reason = recurrent ? unsuitableRecurrent(op, options) : unsuitable(op);
    if (!skip.reason.empty()) {
      plan.skipped.push_back(skip);
      continue;
    }
    if (dynamic || weight_only || options.mode == QuantizeMode::HalfWeights) {
      plan.ops.push_back({&op, op.operand(0), op.result()});
      continue;
    }
    PlannedOp p{&op, op.operand(0), outputPoint(op)};
    plan.ops.push_back(p);
    // The input, and back through value-moving ops (MaxPool, Flatten...) to where it was computed.
    Value* t = p.input;
    while (!seen.count(t)) {
      addPoint(t);
      Op* def = t->definingOp();
      // Back through single-input movers of computed values only: Concat's other inputs have
      // ranges of their own, and a constant (a Gather's embedding table) is no activation.
      if (!def || !movesValues(*def) || def->kind() == OpKind::Concat || !isF32Tensor(def->operand(0)) ||
          constantValue(def->operand(0)))
        break;
      plan.same_as[t] = def->operand(0);
      t = def->operand(0);
    }
    addPoint(p.output);
  }
  // Graph order for the points (the walk above visits movement chains backwards).
  std::unordered_map<const Value*, size_t> order;
  size_t k = 0;
  for (int i = 0; i < g.body().numArguments(); ++i) order[g.body().argument(i)] = k++;
  for (const auto& op : g.body().ops())
    for (int i = 0; i < op->numResults(); ++i) order[op->result(i)] = k++;
  std::stable_sort(plan.points.begin(), plan.points.end(), [&](Value* a, Value* b) { return order[a] < order[b]; });
  for (Value* v : plan.points)
    if (!plan.same_as.count(v)) plan.calibrated.push_back(v);
  return plan;
}

namespace {

// Dynamic quantization of MatMul(x, W) / Gemm(x, B, C) (alpha, beta; transB) with W: [K, N]:
//   (x_q, x_s, x_z) = DynamicQuantizeLinear(x)      u8, range of this x, computed at run time
//   y = Cast<f32>(MatMulInteger(x_q, W_q, x_z)) · (x_s · alpha·w_s) [+ beta·C]
// since Σ_k (x_q - x_z)·s_x · W_q·s_w = s_x·s_w · Σ_k (x_q - x_z)·W_q, exact in int32.
Expected<QuantizeResult> insertDynamic(Graph& g, const QuantPlan& plan, const QuantizeOptions& options) {
  QuantizeResult result;
  NameSet names(g);
  for (const PlannedOp& p : plan.ops) {
    Op& op = *p.op;
    if (op.kind() == OpKind::LSTM || op.kind() == OpKind::GRU) {
      DLC_RETURN_IF_ERROR(insertDynamicRecurrent(op, options, names, result));
      continue;
    }
    const bool gemm = op.kind() == OpKind::Gemm;
    const Tensor wkn = linearWeight(op, false);  // [K, N]
    QuantizedWeight qw = quantizeWeight(wkn, 1, options.per_channel);
    result.weights.push_back({op.location(), op.name(), wkn.numel(), qw.sqnr_db});
    result.float_weight_bytes += wkn.numel() * 4;
    result.quantized_weight_bytes += wkn.numel() + qw.scale.numel() * 4;
    const double alpha = gemm ? op.getFloat("alpha", 1.0f) : 1.0;
    for (int64_t c = 0; c < qw.scale.numel(); ++c) qw.scale.setDouble(c, qw.scale.getDouble(c) * alpha);

    passes::Rewriter rw(op);
    const std::string base = op.result()->name();
    const std::string loc = op.location();
    DLC_ASSIGN_OR_RETURN(Op* dq, rw.create(OpKind::DynamicQuantizeLinear, {op.operand(0)}, {}, 3, loc + "_quantize"));
    dq->result(0)->setName(names.unique(base + "_x_quantized"));
    dq->result(1)->setName(names.unique(base + "_x_scale"));
    dq->result(2)->setName(names.unique(base + "_x_zero_point"));
    Value* wq = rw.constant(qw.values, names.unique(op.operand(1)->name() + "_quantized"));
    DLC_ASSIGN_OR_RETURN(Op* mmi, rw.create(OpKind::MatMulInteger, {dq->result(0), wq, dq->result(2)}, {}, 1, loc));
    mmi->result()->setName(names.unique(base + "_int32"));
    DLC_ASSIGN_OR_RETURN(Op* cast, rw.create(OpKind::Cast, {mmi->result()}, {{"to", Attribute::ofInt(1)}}, 1, loc + "_cast"));
    cast->result()->setName(names.unique(base + "_accumulated"));
    Value* ws = rw.constant(qw.scale, names.unique(op.operand(1)->name() + "_scale"));
    DLC_ASSIGN_OR_RETURN(Op* scale, rw.create(OpKind::Mul, {dq->result(1), ws}, {}, 1, loc + "_scale"));
    scale->result()->setName(names.unique(base + "_scale"));
    DLC_ASSIGN_OR_RETURN(Op* y, rw.create(OpKind::Mul, {cast->result(), scale->result()}, {}, 1, loc + "_rescale"));
    Value* out = y->result();
    if (Tensor c = scaledGemmBias(op); c.defined()) {
      result.float_weight_bytes += c.numel() * 4;
      result.quantized_weight_bytes += c.numel() * 4;
      out->setName(names.unique(base + "_unbiased"));
      DLC_ASSIGN_OR_RETURN(Op* add, rw.create(OpKind::Add, {out, rw.constant(c, names.unique(base + "_bias"))}, {}, 1, loc + "_bias"));
      out = add->result();
    }
    out->setName(base);  // the result's name passes to its replacement
    rw.replaceOp(op, {out});
  }
  return result;
}


}  // namespace

// Weights as f16/bf16 constants read through a Cast to f32: half the bytes, the same f32 compute.
// A weight with values beyond the half type's range stays f32 (f16 tops out at 65504).
Expected<QuantizeResult> insertHalfWeights(Graph& g, const QuantPlan& plan, const QuantizeOptions& options) {
  QuantizeResult result;
  NameSet names(g);
  const DType half = options.half_dtype;
  const int64_t half_bytes = 2;
  for (const PlannedOp& p : plan.ops) {
    Op& op = *p.op;
    for (int i = 1; i <= 2 && i < op.numOperands(); ++i) {
      const Tensor* w = op.operand(i) ? floatConstant(op.operand(i)) : nullptr;
      if (!w) continue;
      Tensor h = w->castTo(half);
      Tensor back = h.castTo(DType::F32);
      std::vector<double> deq(static_cast<size_t>(w->numel()));
      for (int64_t k = 0; k < w->numel(); ++k) deq[static_cast<size_t>(k)] = back.getDouble(k);
      result.float_weight_bytes += w->numel() * 4;
      if (!fitsHalf(*w, half)) {
        result.quantized_weight_bytes += w->numel() * 4;
        continue;
      }
      result.quantized_weight_bytes += w->numel() * half_bytes;
      if (i == 1) result.weights.push_back({op.location(), op.name(), w->numel(), sqnrDb(*w, deq)});
      Builder b(g.body());
      b.setInsertionPoint(&op);
      const std::string wname = op.operand(i)->name();
      Value* hv = b.constant(h, names.unique(wname + (half == DType::F16 ? "_fp16" : "_bf16")));
      DLC_ASSIGN_OR_RETURN(Op* cast, b.create(OpKind::Cast, {hv}, {{"to", Attribute::ofInt(1)}}, 1, wname + "_cast"));
      cast->result()->setName(names.unique(wname + "_f32"));
      op.setOperand(i, cast->result());
    }
  }
  return result;
}

Expected<QuantizeResult> insertQdq(Graph& g, const QuantPlan& plan, const std::vector<TensorStats>& stats,
                                   const QuantizeOptions& options,
                                   const std::map<std::string, std::vector<double>>& input_means) {
  if (options.mode == QuantizeMode::Dynamic) return insertDynamic(g, plan, options);
  if (options.mode == QuantizeMode::HalfWeights)
    return options.half_compute ? insertHalfCompute(g, plan, options) : insertHalfWeights(g, plan, options);
  if (options.mode == QuantizeMode::WeightOnly) return insertWeightOnly(g, plan, options);
  if (stats.size() != plan.calibrated.size())
    return Status::error(str("quantize: ", stats.size(), " statistics for ", plan.calibrated.size(), " calibrated tensors"));
  QuantizeResult result;
  Region& body = g.body();
  NameSet names(g);
  std::unordered_map<const Op*, Op*> next;
  for (auto it = body.ops().begin(); it != body.ops().end(); ++it) {
    auto n = std::next(it);
    next[it->get()] = n == body.ops().end() ? nullptr : n->get();
  }

  // Activation parameters: calibrated tensors from their statistics, the others from their source.
  std::map<const Value*, ActivationParams> params;
  for (size_t i = 0; i < plan.calibrated.size(); ++i) {
    ActivationReport r;
    r.tensor = plan.calibrated[i]->name();
    calibratedRange(stats[i], options.method, options.percentile, &r.lo, &r.hi);
    r.params = activationParams(r.lo, r.hi, options.activation_dtype, options.symmetric);
    params[plan.calibrated[i]] = r.params;
    result.activations.push_back(r);
  }
  // A Concat of points gives every input its result's parameters (calibrated on the result: the
  // union of the inputs' ranges), so that fuse-qdq runs it on the integers rather than dequantizing
  // each input and requantizing the result.
  for (const auto& op : body.ops()) {
    if (op->kind() != OpKind::Concat || !params.count(op->result())) continue;
    bool all = op->numOperands() > 0;
    for (const Value* v : op->operands()) all = all && v && params.count(v) && !plan.same_as.count(v);
    if (!all) continue;
    const ActivationParams shared = params.at(op->result());
    for (const Value* v : op->operands()) {
      params[v] = shared;
      for (ActivationReport& r : result.activations)
        if (r.tensor == v->name()) r.params = shared;
    }
  }
  auto paramsOf = [&](const Value* v) {
    while (plan.same_as.count(v)) v = plan.same_as.at(v);
    return params.at(v);
  };

  // Q/DQ on every point; all its uses (graph outputs included) read the DQ.
  for (Value* v : plan.points) {
    const ActivationParams p = paramsOf(v);
    std::vector<Use> uses = v->uses();
    Builder b(body);
    b.setInsertionPoint(insertionPoint(v, next, body));
    Value* scale = b.constant(Tensor::scalar(DType::F32, p.scale), names.unique(v->name() + "_scale"));
    Value* zp = b.constant(Tensor::scalar(options.activation_dtype, static_cast<double>(p.zero_point)),
                           names.unique(v->name() + "_zero_point"));
    DLC_ASSIGN_OR_RETURN(Op* q, b.create(OpKind::QuantizeLinear, {v, scale, zp}, {}, 1, v->name() + "_quantize"));
    DLC_ASSIGN_OR_RETURN(Op* dq, b.create(OpKind::DequantizeLinear, {q->result(), scale, zp}, {}, 1, v->name() + "_dequantize"));
    q->result()->setName(names.unique(v->name() + "_quantized"));
    dq->result()->setName(names.unique(v->name() + "_dequantized"));
    bool is_output = false;
    for (const Use& u : uses) {
      if (u.user) u.user->setOperand(u.index, dq->result());
      else {
        u.region->setOutput(u.index, dq->result());
        is_output = true;
      }
    }
    if (is_output) {  // the graph output keeps its name on the value now produced
      std::string public_name = v->name();
      v->setName(names.unique(public_name + "_float"));
      dq->result()->setName(public_name);
    }
  }

  // Weights: symmetric int8, per output channel or per tensor; biases int32 in the accumulator's scale.
  for (const PlannedOp& p : plan.ops) {
    Op& op = *p.op;
    const Tensor& w = *floatConstant(op.operand(1));
    const bool trans_b = op.kind() == OpKind::Gemm && op.getInt("transB", 0) != 0;
    const int axis = op.kind() == OpKind::Conv || trans_b ? 0 : 1;
    const int64_t channels = w.dim(axis);
    QuantizedWeight qw = quantizeWeight(w, axis, options.per_channel);
    const Tensor& scale = qw.scale;
    const Tensor& wq = qw.values;
    result.weights.push_back({op.location(), op.name(), w.numel(), qw.sqnr_db});
    result.float_weight_bytes += w.numel() * 4;
    result.quantized_weight_bytes += w.numel() + scale.numel() * 4;

    Builder b(body);
    b.setInsertionPoint(&op);
    if (options.bias_correction) {
      auto mean = input_means.find(op.location());
      std::vector<double> shift;
      if (mean != input_means.end()) shift = meanOutputShift(op, w, qw, axis, options.per_channel, mean->second);
      if (!shift.empty() && subtractFromBias(op, shift, b, names))
        for (double v : shift) result.weights.back().bias_shift = std::max(result.weights.back().bias_shift, std::fabs(v));
    }
    const std::string wname = op.operand(1)->name();
    std::map<std::string, Attribute> axis_attr;
    if (options.per_channel) axis_attr["axis"] = Attribute::ofInt(axis);
    Value* wq_v = b.constant(wq, names.unique(wname + "_quantized"));
    Value* ws_v = b.constant(scale, names.unique(wname + "_scale"));
    DLC_ASSIGN_OR_RETURN(Op* dqw, b.create(OpKind::DequantizeLinear, {wq_v, ws_v}, axis_attr, 1, wname + "_dequantize"));
    dqw->result()->setName(names.unique(wname + "_dequantized"));
    op.setOperand(1, dqw->result());

    // Bias: Conv's B, or Gemm's C when it is one value per output column (beta = 1).
    Value* bias = op.kind() == OpKind::MatMul ? nullptr : op.operand(2);
    const Tensor* bt = bias ? floatConstant(bias) : nullptr;
    if (!bt || bt->rank() != 1 || bt->numel() != channels || (op.kind() == OpKind::Gemm && op.getFloat("beta", 1.0f) != 1.0f)) {
      if (bt) {
        result.float_weight_bytes += bt->numel() * 4;
        result.quantized_weight_bytes += bt->numel() * 4;
      }
      continue;
    }
    const double xs = paramsOf(p.input).scale;
    Tensor bq(DType::I32, {channels}), bs(DType::F32, {channels});
    bool fits = true;
    for (int64_t c = 0; c < channels; ++c) {
      const float s = static_cast<float>(xs) * static_cast<float>(scale.getDouble(options.per_channel ? c : 0));
      double q = std::nearbyint(bt->getDouble(c) / s);
      fits = fits && std::fabs(q) < 2147483647.0;
      bq.setDouble(c, q);
      bs.setDouble(c, s);
    }
    result.float_weight_bytes += channels * 4;
    result.quantized_weight_bytes += channels * 4;
    if (!fits) continue;  // a bias beyond int32 in that scale stays float
    const std::string bname = bias->name();
    Value* bq_v = b.constant(bq, names.unique(bname + "_quantized"));
    Value* bs_v = b.constant(bs, names.unique(bname + "_scale"));
    DLC_ASSIGN_OR_RETURN(Op* dqb, b.create(OpKind::DequantizeLinear, {bq_v, bs_v}, {{"axis", Attribute::ofInt(0)}}, 1,
                                           bname + "_dequantize"));
    dqb->result()->setName(names.unique(bname + "_dequantized"));
    op.setOperand(2, dqb->result());
  }
  return result;
}

}  // namespace dlc::quantize
