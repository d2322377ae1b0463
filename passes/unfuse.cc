// unfuse: rewrites dlc's own ops (domain "dlc") into standard ONNX ops that compute the same
// numbers, in the order the reference kernels compute them, so a fused graph can be exported.
#include <cmath>
#include <unordered_map>

#include "passes/unfuse.h"

#include "passes/pass.h"
#include "passes/pattern.h"

namespace dlc::passes {
namespace {

// Builds the replacement ops of one fused op: each new value is named after the fused result
// (`<name>_<what>`) and carries the fused op's location.
class UnfuseEmitter {
 public:
  UnfuseEmitter(Rewriter& rw, Op& fused) : rw_(rw), fused_(fused) {}

  Expected<Value*> op(OpKind kind, std::vector<Value*> operands, std::map<std::string, Attribute> attrs,
                      const char* what) {
    DLC_ASSIGN_OR_RETURN(Op* o, rw_.create(kind, std::move(operands), std::move(attrs), 1, fused_.location()));
    o->result()->setName(name(what));
    return o->result();
  }
  Value* scalar(DType dtype, double v, const char* what) { return rw_.constant(Tensor::scalar(dtype, v), name(what)); }
  Value* ints(const std::vector<int64_t>& v, const char* what) {
    return rw_.constant(Tensor::fromVector<int64_t>(DType::I64, {static_cast<int64_t>(v.size())}, v), name(what));
  }
  // Replaces the fused op by `y`, which takes its result's name.
  bool finish(Value* y) {
    y->setName(fused_.result()->name());
    rw_.replaceOp(fused_, {y});
    return true;
  }
  Status error(const std::string& what) const {
    return Status::error(str(fused_.name(), " '", fused_.location(), "': cannot unfuse: ", what));
  }

 private:
  std::string name(const char* what) const {
    const std::string& base = fused_.result()->name();
    return base.empty() ? std::string() : str(base, "_", what);
  }
  Rewriter& rw_;
  Op& fused_;
};

bool narrowFloat(DType t) { return t == DType::F16 || t == DType::BF16; }

// 16-bit floats: the reference kernels of the fused ops compute in f32 and round once at the end,
// so a multi-op expansion runs in f32 between a Cast in and a Cast back.
Expected<Value*> widen(UnfuseEmitter& e, Value* x, const char* what) {
  if (!narrowFloat(x->type().dtype)) return x;
  return e.op(OpKind::Cast, {x}, {{"to", Attribute::ofInt(1)}}, what);
}
Expected<Value*> narrowBack(UnfuseEmitter& e, Value* y, DType to) {
  if (!narrowFloat(to)) return y;
  return e.op(OpKind::Cast, {y}, {{"to", Attribute::ofInt(to == DType::F16 ? 10 : 16)}}, "narrow");
}

// Gelu(x) = (0.5·x)·(1 + erf(x·(1/√2)))
// approximate=tanh: (0.5·x)·(1 + tanh(√(2/π)·(x + ((0.044715·x)·x)·x)))
// The products are grouped as the reference kernel (and recognize-gelu's patterns) have them.
Expected<Value*> gelu(UnfuseEmitter& e, Value* x, bool tanh_form) {
  const DType out = x->type().dtype;
  DLC_ASSIGN_OR_RETURN(Value* v, widen(e, x, "wide"));
  const DType t = v->type().dtype;
  Value* inner = nullptr;
  if (tanh_form) {
    DLC_ASSIGN_OR_RETURN(Value* c1, e.op(OpKind::Mul, {v, e.scalar(t, 0.044715, "c")}, {}, "cubic1"));
    DLC_ASSIGN_OR_RETURN(Value* c2, e.op(OpKind::Mul, {c1, v}, {}, "cubic2"));
    DLC_ASSIGN_OR_RETURN(Value* c3, e.op(OpKind::Mul, {c2, v}, {}, "cubic3"));
    DLC_ASSIGN_OR_RETURN(Value* s, e.op(OpKind::Add, {v, c3}, {}, "poly"));
    DLC_ASSIGN_OR_RETURN(Value* k, e.op(OpKind::Mul, {s, e.scalar(t, 0.79788456080286535588, "k")}, {}, "arg"));
    DLC_ASSIGN_OR_RETURN(inner, e.op(OpKind::Tanh, {k}, {}, "tanh"));
  } else {
    DLC_ASSIGN_OR_RETURN(Value* a, e.op(OpKind::Mul, {v, e.scalar(t, 0.70710678118654752440, "inv_sqrt2")}, {}, "arg"));
    DLC_ASSIGN_OR_RETURN(inner, e.op(OpKind::Erf, {a}, {}, "erf"));
  }
  DLC_ASSIGN_OR_RETURN(Value* one_plus, e.op(OpKind::Add, {inner, e.scalar(t, 1.0, "one")}, {}, "one_plus"));
  DLC_ASSIGN_OR_RETURN(Value* half, e.op(OpKind::Mul, {v, e.scalar(t, 0.5, "half")}, {}, "half_x"));
  DLC_ASSIGN_OR_RETURN(Value* y, e.op(OpKind::Mul, {half, one_plus}, {}, "gelu"));
  return narrowBack(e, y, out);
}

// The fused epilogue's activation on y (names and parameters as in ir/ops.def):
//   Relu, Sigmoid, Tanh, HardSwish            -> the op itself
//   LeakyRelu(α)                              -> LeakyRelu {alpha = α}
//   HardSigmoid(α, β)                         -> HardSigmoid {alpha = α, beta = β}
//   Clip(α = min, β = max)                    -> Clip(y, α, β)
//   Silu                                      -> y · Sigmoid(y)
//   Gelu                                      -> the erf form above
Expected<Value*> activation(UnfuseEmitter& e, const Op& fused, Value* y) {
  const std::string act = fused.getString("activation", "none");
  const float a = fused.getFloat("activation_alpha", 0.0f), b = fused.getFloat("activation_beta", 0.0f);
  const DType t = y->type().dtype;
  if (act == "none") return y;
  if (act == "Relu") return e.op(OpKind::Relu, {y}, {}, "relu");
  if (act == "Sigmoid") return e.op(OpKind::Sigmoid, {y}, {}, "sigmoid");
  if (act == "Tanh") return e.op(OpKind::Tanh, {y}, {}, "tanh");
  if (act == "HardSwish") return e.op(OpKind::HardSwish, {y}, {}, "hardswish");
  if (act == "LeakyRelu") return e.op(OpKind::LeakyRelu, {y}, {{"alpha", Attribute::ofFloat(a)}}, "leakyrelu");
  if (act == "HardSigmoid")
    return e.op(OpKind::HardSigmoid, {y}, {{"alpha", Attribute::ofFloat(a)}, {"beta", Attribute::ofFloat(b)}}, "hardsigmoid");
  if (act == "Clip") return e.op(OpKind::Clip, {y, e.scalar(t, a, "min"), e.scalar(t, b, "max")}, {}, "clip");
  if (act == "Silu") {
    DLC_ASSIGN_OR_RETURN(Value* s, e.op(OpKind::Sigmoid, {y}, {}, "sigmoid"));
    return e.op(OpKind::Mul, {y, s}, {}, "silu");
  }
  if (act == "Gelu") return gelu(e, y, false);
  return e.error(str("unknown activation '", act, "'"));
}

// y + R for a residual operand, then the activation.
Expected<Value*> epilogue(UnfuseEmitter& e, const Op& fused, Value* y) {
  if (Value* r = fused.operand(3)) {
    DLC_ASSIGN_OR_RETURN(y, e.op(OpKind::Add, {y, r}, {}, "residual"));
  }
  return activation(e, fused, y);
}

// FusedConv(X, W, B?, R?) {conv attributes, act}  ==>  act(Conv(X, W, B?) + R)
class UnfuseConv : public RewritePattern {
 public:
  const char* name() const override { return "unfuse-conv"; }
  Expected<bool> matchAndRewrite(Op& op, Rewriter& rw) const override {
    if (op.kind() != OpKind::FusedConv) return false;
    UnfuseEmitter e(rw, op);
    std::map<std::string, Attribute> attrs = op.attrs();
    for (const char* a : {"activation", "activation_alpha", "activation_beta"}) attrs.erase(a);
    std::vector<Value*> operands = {op.operand(0), op.operand(1)};
    if (op.operand(2)) operands.push_back(op.operand(2));
    DLC_ASSIGN_OR_RETURN(Value* y, e.op(OpKind::Conv, operands, std::move(attrs), "conv"));
    DLC_ASSIGN_OR_RETURN(y, epilogue(e, op, y));
    return e.finish(y);
  }
};

bool rank2(const Value* v) { return v->type().isTensor() && v->type().shape.ranked && v->type().shape.rank() == 2; }

// op(X): X with its last two dims swapped (Transpose), when `trans` is set.
Expected<Value*> transposed(UnfuseEmitter& e, Value* x, bool trans, const char* what) {
  if (!trans) return x;
  const Shape& s = x->type().shape;
  if (!s.ranked || s.rank() < 2) return e.error(str("a transposed operand must have a known rank >= 2, got ", x->type().toString()));
  std::vector<int64_t> perm;
  for (int i = 0; i < s.rank(); ++i) perm.push_back(i);
  std::swap(perm[perm.size() - 1], perm[perm.size() - 2]);
  return e.op(OpKind::Transpose, {x}, {{"perm", Attribute::ofInts(perm)}}, what);
}

// FusedMatMul(A, B, C?, R?) {alpha, transA, transB, act}
//   A, B 2-D  ==>  act(Gemm(A, B, C?) {alpha, transA, transB} + R)        (C broadcasts to [M, N])
//   else      ==>  act(MatMul(op(A), op(B)) · alpha + C + R)              (MatMul's batching)
class UnfuseMatMul : public RewritePattern {
 public:
  const char* name() const override { return "unfuse-matmul"; }
  Expected<bool> matchAndRewrite(Op& op, Rewriter& rw) const override {
    if (op.kind() != OpKind::FusedMatMul) return false;
    UnfuseEmitter e(rw, op);
    Value* a = op.operand(0);
    Value* b = op.operand(1);
    Value* c = op.operand(2);
    const float alpha = op.getFloat("alpha", 1.0f);
    const bool ta = op.getInt("transA", 0) != 0, tb = op.getInt("transB", 0) != 0;
    Value* y = nullptr;
    if (rank2(a) && rank2(b)) {
      std::map<std::string, Attribute> attrs;
      if (alpha != 1.0f) attrs["alpha"] = Attribute::ofFloat(alpha);
      if (ta) attrs["transA"] = Attribute::ofInt(1);
      if (tb) attrs["transB"] = Attribute::ofInt(1);
      std::vector<Value*> operands = {a, b};
      if (c) operands.push_back(c);
      DLC_ASSIGN_OR_RETURN(y, e.op(OpKind::Gemm, operands, std::move(attrs), "gemm"));
    } else {
      DLC_ASSIGN_OR_RETURN(a, transposed(e, a, ta, "a_t"));
      DLC_ASSIGN_OR_RETURN(b, transposed(e, b, tb, "b_t"));
      DLC_ASSIGN_OR_RETURN(y, e.op(OpKind::MatMul, {a, b}, {}, "matmul"));
      if (alpha != 1.0f) {
        DLC_ASSIGN_OR_RETURN(y, e.op(OpKind::Mul, {y, e.scalar(y->type().dtype, alpha, "alpha")}, {}, "scaled"));
      }
      if (c) {
        DLC_ASSIGN_OR_RETURN(y, e.op(OpKind::Add, {y, c}, {}, "bias"));
      }
    }
    DLC_ASSIGN_OR_RETURN(y, epilogue(e, op, y));
    return e.finish(y);
  }
};

// FusedElementwise(x...) {body}  ==>  the body's ops, with its arguments bound to x...
class InlineElementwise : public RewritePattern {
 public:
  const char* name() const override { return "inline-elementwise"; }
  Expected<bool> matchAndRewrite(Op& op, Rewriter& rw) const override {
    if (op.kind() != OpKind::FusedElementwise) return false;
    const Attribute* a = op.attr("body");
    if (!a || !a->g) return Status::error(str("FusedElementwise '", op.location(), "' has no body"));
    const Region& body = *a->g;
    if (body.numArguments() != op.numOperands() || body.numOutputs() != op.numResults())
      return Status::error(str("FusedElementwise '", op.location(), "': body signature does not match the op"));
    std::unordered_map<const Value*, Value*> map;
    for (int i = 0; i < body.numArguments(); ++i) map[body.argument(i)] = op.operand(i);
    auto mapped = [&](Value* v) -> Value* {
      auto it = map.find(v);
      return it == map.end() ? v : it->second;  // values of enclosing regions stay as they are
    };
    for (const auto& inner : body.ops()) {
      if (!inner->regions().empty())
        return Status::error(str("FusedElementwise '", op.location(), "': body op ", inner->name(), " has regions"));
      std::vector<Value*> operands;
      for (Value* v : inner->operands()) operands.push_back(v ? mapped(v) : nullptr);
      DLC_ASSIGN_OR_RETURN(Op* copy, rw.create(inner->kind(), std::move(operands), inner->attrs(), inner->numResults(),
                                               inner->location()));
      for (int i = 0; i < inner->numResults(); ++i) {
        copy->result(i)->setName(inner->result(i)->name());
        map[inner->result(i)] = copy->result(i);
      }
    }
    std::vector<Value*> outs;
    for (int i = 0; i < body.numOutputs(); ++i) {
      Value* v = mapped(body.output(i));
      // The fused op's result names are the public ones; a body that returns an argument as is
      // keeps the argument's.
      if (v->definingOp() && map.count(body.output(i))) v->setName(op.result(i)->name());
      outs.push_back(v);
    }
    rw.replaceOp(op, outs);
    return true;
  }
};

// StopGradient(x)  ==>  x (ONNX graphs carry no gradients).
class RemoveStopGradient : public RewritePattern {
 public:
  const char* name() const override { return "remove-stop-gradient"; }
  Expected<bool> matchAndRewrite(Op& op, Rewriter& rw) const override {
    if (op.kind() != OpKind::StopGradient) return false;
    rw.replaceOp(op, {op.operand(0)});
    return true;
  }
};

// Gelu(x) {approximate}  ==>  the erf or tanh expression above.
class UnfuseGelu : public RewritePattern {
 public:
  const char* name() const override { return "unfuse-gelu"; }
  Expected<bool> matchAndRewrite(Op& op, Rewriter& rw) const override {
    if (op.kind() != OpKind::Gelu) return false;
    UnfuseEmitter e(rw, op);
    const std::string mode = op.getString("approximate", "none");
    if (mode != "none" && mode != "tanh") return e.error(str("approximate must be none or tanh, got '", mode, "'"));
    DLC_ASSIGN_OR_RETURN(Value* y, gelu(e, op.operand(0), mode == "tanh"));
    return e.finish(y);
  }
};

// RMSNormalization(x, γ) {axis = a, epsilon = ε}  ==>
//   Mul(Mul(x, Reciprocal(Sqrt(Add(ReduceMean(Mul(x, x), axes [a, rank), keepdims), ε)))), γ)
// in the reference kernel's order; 16-bit floats run in f32 as it does.
class UnfuseRmsNorm : public RewritePattern {
 public:
  const char* name() const override { return "unfuse-rms-norm"; }
  Expected<bool> matchAndRewrite(Op& op, Rewriter& rw) const override {
    if (op.kind() != OpKind::RMSNormalization) return false;
    UnfuseEmitter e(rw, op);
    const Type& xt = op.operand(0)->type();
    const int64_t axis = op.getInt("axis", -1);
    std::vector<int64_t> axes;
    if (axis < 0) {
      for (int64_t a = axis; a < 0; ++a) axes.push_back(a);  // negative axes need no rank
    } else {
      if (!xt.isTensor() || !xt.shape.ranked) return e.error(str("axis ", axis, " of an input of unknown rank"));
      for (int64_t a = axis; a < xt.shape.rank(); ++a) axes.push_back(a);
    }
    DLC_ASSIGN_OR_RETURN(Value* x, widen(e, op.operand(0), "x_wide"));
    DLC_ASSIGN_OR_RETURN(Value* g, widen(e, op.operand(1), "scale_wide"));
    const DType t = x->type().dtype;
    DLC_ASSIGN_OR_RETURN(Value* sq, e.op(OpKind::Mul, {x, x}, {}, "square"));
    DLC_ASSIGN_OR_RETURN(Value* ms, e.op(OpKind::ReduceMean, {sq}, {{"axes", Attribute::ofInts(axes)}, {"keepdims", Attribute::ofInt(1)}},
                                         "mean_square"));
    DLC_ASSIGN_OR_RETURN(Value* v, e.op(OpKind::Add, {ms, e.scalar(t, op.getFloat("epsilon", 1e-5f), "epsilon")}, {}, "plus_eps"));
    DLC_ASSIGN_OR_RETURN(Value* rms, e.op(OpKind::Sqrt, {v}, {}, "rms"));
    DLC_ASSIGN_OR_RETURN(Value* inv, e.op(OpKind::Reciprocal, {rms}, {}, "inv_rms"));
    DLC_ASSIGN_OR_RETURN(Value* n, e.op(OpKind::Mul, {x, inv}, {}, "normalized"));
    DLC_ASSIGN_OR_RETURN(Value* y, e.op(OpKind::Mul, {n, g}, {}, "scaled"));
    DLC_ASSIGN_OR_RETURN(y, narrowBack(e, y, xt.dtype));
    return e.finish(y);
  }
};

// Attention(Q [B,S,H·D], K [B,T,H·D], V [B,T,H·Dv], M?) {num_heads = H, scale = c}  ==>
//   q = Transpose(Reshape(Q, [0,0,H,-1]), [0,2,1,3])          [B,H,S,D]
//   k = Transpose(Reshape(K, [0,0,H,-1]), [0,2,3,1])          [B,H,D,T]
//   v = Transpose(Reshape(V, [0,0,H,-1]), [0,2,1,3])          [B,H,T,Dv]
//   Y = Reshape(Transpose(MatMul(Softmax(MatMul(q, k) · c + M, -1), v), [0,2,1,3]), [0,0,-1])
// with c = 1/√D when scale is 0; 16-bit floats run in f32 as the reference kernel does.
class UnfuseAttention : public RewritePattern {
 public:
  const char* name() const override { return "unfuse-attention"; }
  Expected<bool> matchAndRewrite(Op& op, Rewriter& rw) const override {
    if (op.kind() != OpKind::Attention) return false;
    UnfuseEmitter e(rw, op);
    const int64_t heads = op.getInt("num_heads", 0);
    if (heads <= 0) return e.error(str("num_heads must be positive, got ", heads));
    const Type& qt = op.operand(0)->type();
    double scale = op.getFloat("scale", 0.0f);
    if (scale == 0.0) {
      const Dim& e_dim = qt.shape.ranked && qt.shape.rank() == 3 ? qt.shape.dims[2] : Dim::unknown();
      if (!e_dim.isStatic() || e_dim.value % heads != 0)
        return e.error(str("scale is 1/sqrt(head size), but Q's head size is not known (", qt.toString(), ")"));
      scale = 1.0 / std::sqrt(static_cast<double>(e_dim.value / heads));
    }
    const DType out = qt.dtype;
    DLC_ASSIGN_OR_RETURN(Value* q, widen(e, op.operand(0), "q_wide"));
    DLC_ASSIGN_OR_RETURN(Value* k, widen(e, op.operand(1), "k_wide"));
    DLC_ASSIGN_OR_RETURN(Value* v, widen(e, op.operand(2), "v_wide"));
    const DType t = q->type().dtype;
    Value* split = e.ints({0, 0, heads, -1}, "heads_shape");
    auto heads_of = [&](Value* x, std::vector<int64_t> perm, const char* r_name, const char* t_name) -> Expected<Value*> {
      DLC_ASSIGN_OR_RETURN(Value* r, e.op(OpKind::Reshape, {x, split}, {}, r_name));
      return e.op(OpKind::Transpose, {r}, {{"perm", Attribute::ofInts(std::move(perm))}}, t_name);
    };
    DLC_ASSIGN_OR_RETURN(Value* qh, heads_of(q, {0, 2, 1, 3}, "q_split", "q_heads"));
    DLC_ASSIGN_OR_RETURN(Value* kh, heads_of(k, {0, 2, 3, 1}, "k_split", "k_heads"));
    DLC_ASSIGN_OR_RETURN(Value* vh, heads_of(v, {0, 2, 1, 3}, "v_split", "v_heads"));
    DLC_ASSIGN_OR_RETURN(Value* s, e.op(OpKind::MatMul, {qh, kh}, {}, "scores"));
    DLC_ASSIGN_OR_RETURN(s, e.op(OpKind::Mul, {s, e.scalar(t, scale, "scale")}, {}, "scaled"));
    if (Value* m = op.operand(3)) {
      if (m->type().dtype != t) {
        DLC_ASSIGN_OR_RETURN(m, e.op(OpKind::Cast, {m}, {{"to", Attribute::ofInt(t == DType::F64 ? 11 : 1)}}, "mask_cast"));
      }
      DLC_ASSIGN_OR_RETURN(s, e.op(OpKind::Add, {s, m}, {}, "masked"));
    }
    DLC_ASSIGN_OR_RETURN(Value* p, e.op(OpKind::Softmax, {s}, {{"axis", Attribute::ofInt(-1)}}, "probs"));
    DLC_ASSIGN_OR_RETURN(Value* o, e.op(OpKind::MatMul, {p, vh}, {}, "context"));
    DLC_ASSIGN_OR_RETURN(o, e.op(OpKind::Transpose, {o}, {{"perm", Attribute::ofInts({0, 2, 1, 3})}}, "merged"));
    DLC_ASSIGN_OR_RETURN(Value* y, e.op(OpKind::Reshape, {o, e.ints({0, 0, -1}, "out_shape")}, {}, "attention"));
    DLC_ASSIGN_OR_RETURN(y, narrowBack(e, y, out));
    return e.finish(y);
  }
};

// DynamicQuantizeGRU(X, W_q, R_q, B?, lens?, h0?, W_s, W_z, R_s, R_z) {GRU attributes}
//   ==>  GRU(X, W, R, B?, lens?, h0?) with W[d, n, k] = (W_q[d, k, n] - W_z) · W_s (R alike): the
// same weights, dequantized; only the activations' run-time rounding is gone.
class UnfuseDynamicQuantizeGRU : public RewritePattern {
 public:
  const char* name() const override { return "unfuse-dynamic-quantize-gru"; }
  Expected<bool> matchAndRewrite(Op& op, Rewriter& rw) const override {
    if (op.kind() != OpKind::DynamicQuantizeGRU) return false;
    std::vector<Value*> operands(op.operands().begin(), op.operands().begin() + 6);
    for (int i : {1, 2}) {
      const Tensor* q = constantValue(op.operand(i));
      const Tensor* scale = constantValue(op.operand(4 + 2 * i));
      const Tensor* zp = constantValue(op.operand(5 + 2 * i));
      if (!q || !scale || !zp || q->rank() != 3)
        return Status::error(str(op.name(), " '", op.location(), "': cannot unfuse: its weights and their scales are not constants"));
      const int64_t dirs = q->dim(0), k = q->dim(1), n = q->dim(2);
      const int64_t per_dir_s = scale->numel() / dirs, per_dir_z = zp->numel() / dirs;
      Tensor w(DType::F32, {dirs, n, k});
      for (int64_t d = 0; d < dirs; ++d)
        for (int64_t j = 0; j < n; ++j) {
          const float s = static_cast<float>(scale->getDouble(d * per_dir_s + (per_dir_s == 1 ? 0 : j)));
          const int64_t z = zp->getInt(d * per_dir_z + (per_dir_z == 1 ? 0 : j));
          for (int64_t c = 0; c < k; ++c)
            w.data<float>()[(d * n + j) * k + c] = static_cast<float>(q->getInt((d * k + c) * n + j) - z) * s;
        }
      operands[static_cast<size_t>(i)] = rw.constant(w, op.operand(i)->name() + "_dequantized");
    }
    while (!operands.empty() && !operands.back()) operands.pop_back();
    DLC_ASSIGN_OR_RETURN(Op* gru, rw.create(OpKind::GRU, operands, op.attrs(), op.numResults(), op.location()));
    std::vector<Value*> results;
    for (int r = 0; r < op.numResults(); ++r) {
      gru->result(r)->setName(op.result(r)->name());
      results.push_back(gru->result(r));
    }
    rw.replaceOp(op, results);
    return true;
  }
};

PatternList unfusePatterns() {
  PatternList patterns;
  patterns.push_back(std::make_unique<UnfuseConv>());
  patterns.push_back(std::make_unique<UnfuseMatMul>());
  patterns.push_back(std::make_unique<InlineElementwise>());
  patterns.push_back(std::make_unique<UnfuseGelu>());
  patterns.push_back(std::make_unique<RemoveStopGradient>());
  patterns.push_back(std::make_unique<UnfuseAttention>());
  patterns.push_back(std::make_unique<UnfuseRmsNorm>());
  patterns.push_back(std::make_unique<UnfuseDynamicQuantizeGRU>());
  return patterns;
}

class Unfuse : public Pass {
 public:
  Status run(Graph& graph, const PassContext&) override {
    PatternList patterns = unfusePatterns();
    DLC_RETURN_IF_ERROR(applyPatternsGreedily(graph.body(), patterns).status());
    // Each pattern rewrites its op or fails, so only a rewrite chain deeper than the driver's
    // sweeps (Gelu inside a FusedElementwise inside ...) could leave one behind.
    std::string left;
    walkOps(graph.body(), [&](const Op* op) {
      if (left.empty() && std::string(op->info().domain) == "dlc") left = str(op->name(), " '", op->location(), "'");
    });
    if (!left.empty()) return Status::error(str("unfuse left ", left, " in place"));
    return Status::success();
  }
};

}  // namespace

std::unique_ptr<Pass> createUnfusePass() { return std::make_unique<Unfuse>(); }

Expected<bool> unfuseOp(Op& op) {
  static const PatternList patterns = unfusePatterns();
  for (const auto& p : patterns) {
    Rewriter rw(op);
    DLC_ASSIGN_OR_RETURN(bool applied, p->matchAndRewrite(op, rw));
    if (applied) return true;
  }
  return false;
}

}  // namespace dlc::passes
