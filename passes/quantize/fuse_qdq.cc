// fuse-qdq: lowers the QDQ form of a quantized model (DequantizeLinear -> float op ->
// QuantizeLinear, as `dlc quantize`, ONNX Runtime's quantizer and PyTorch's exporter write it) to
// integer ops: QLinearConv, QLinearMatMul, Gemm/Linear as a 1x1 QLinearConv, QLinearAdd and
// QLinearMul, and max pooling, concatenation and data movement directly on the integer tensors.
//
// Notation: Q_s,z(v) = clamp(round(v / s) + z, qmin, qmax), DQ_s,z(q) = (q - z)·s. Every rewrite
// computes the integer result the unfused graph computes from the same integer inputs, up to the
// float rounding of the requantization (one quantization step at most).
#include <cmath>
#include <limits>
#include <vector>

#include "passes/pass.h"
#include "passes/pattern.h"
#include "passes/quantize/insert_qdq.h"

namespace dlc::passes {
namespace {

// The constant scale and zero point of a QuantizeLinear or DequantizeLinear op.
struct QParams {
  Value* scale_value = nullptr;
  Value* zp_value = nullptr;  // null: 0 (Q: of u8)
  const Tensor* scale = nullptr;
  const Tensor* zp = nullptr;
  DType qtype = DType::Undefined;  // the integer side's dtype
  int axis = 0;                    // the channel axis when per-axis
  bool perTensor() const { return scale->numel() == 1 && scale->rank() <= 1; }
  int64_t count() const { return scale->numel(); }
  double scaleAt(int64_t c) const { return scale->getDouble(perTensor() ? 0 : c); }
  int64_t zpAt(int64_t c) const { return zp ? zp->getInt(perTensor() ? 0 : c) : 0; }
};

bool isInt8(DType t) { return t == DType::U8 || t == DType::I8; }

bool qrange(DType t, double* lo, double* hi) {
  if (t == DType::U8) *lo = 0, *hi = 255;
  else if (t == DType::I8) *lo = -128, *hi = 127;
  else if (t == DType::I32) *lo = -2147483648.0, *hi = 2147483647.0;
  else return false;
  return true;
}

bool readParams(const Op& op, QParams* p) {
  p->scale_value = op.operand(1);
  p->zp_value = op.operand(2);
  p->scale = constantValue(op.operand(1));
  if (!p->scale || !isFloat(p->scale->dtype()) || p->scale->rank() > 1) return false;
  if (op.operand(2)) {
    p->zp = constantValue(op.operand(2));
    if (!p->zp || p->zp->numel() != p->scale->numel()) return false;
  }
  p->qtype = op.kind() == OpKind::QuantizeLinear ? (p->zp ? p->zp->dtype() : DType::U8) : op.operand(0)->type().dtype;
  if (!p->perTensor()) {
    const Type& t = op.operand(0)->type();
    if (!t.isTensor() || !t.shape.ranked) return false;
    int64_t rank = t.shape.rank(), a = op.getInt("axis", 1);
    if (a < 0) a += rank;
    if (a < 0 || a >= rank) return false;
    p->axis = static_cast<int>(a);
    const Dim& d = t.shape.dims[static_cast<size_t>(a)];
    if (!d.isStatic() || d.value != p->count()) return false;
  }
  return true;
}

bool sameParams(const QParams& a, const QParams& b) {
  if (a.qtype != b.qtype || a.count() != b.count() || a.perTensor() != b.perTensor()) return false;
  if (!a.perTensor() && a.axis != b.axis) return false;
  for (int64_t c = 0; c < a.count(); ++c)
    if (static_cast<float>(a.scaleAt(c)) != static_cast<float>(b.scaleAt(c)) || a.zpAt(c) != b.zpAt(c)) return false;
  return true;
}

// The DequantizeLinear producing `v`, with its parameters.
Op* dequantizeOf(Value* v, QParams* p) {
  Op* dq = producerOf(v, OpKind::DequantizeLinear);
  return dq && readParams(*dq, p) ? dq : nullptr;
}

// The zero point operand of `p`, made explicit (QLinear ops require it): `count` zeros when absent.
Value* zeroPointValue(Rewriter& rw, const QParams& p, const std::string& name) {
  if (p.zp_value) return p.zp_value;
  std::vector<int64_t> shape;
  if (!p.perTensor()) shape.push_back(p.count());
  return rw.constant(Tensor(p.qtype, shape), name);
}

// Q applied to one float value, as QuantizeLinear's reference computes it (float32 division,
// round half to even, saturation).
double quantizeScalar(double v, const QParams& p) {
  double lo = 0, hi = 0;
  qrange(p.qtype, &lo, &hi);
  if (std::isinf(v)) return v < 0 ? lo : hi;
  double q = std::nearbyint(static_cast<double>(static_cast<float>(v) / static_cast<float>(p.scaleAt(0)))) + p.zpAt(0);
  return std::min(hi, std::max(lo, q));
}

// A Relu or a Clip with constant bounds between the float op and the Q: its float bounds.
bool clampBounds(const Op& op, double* lo, double* hi) {
  *lo = -std::numeric_limits<double>::infinity();
  *hi = std::numeric_limits<double>::infinity();
  if (op.kind() == OpKind::Relu) {
    *lo = 0;
    return true;
  }
  if (op.kind() != OpKind::Clip) return false;
  for (int i = 1; i <= 2; ++i) {
    if (!op.operand(i)) continue;
    const Tensor* t = constantValue(op.operand(i));
    if (!t || t->numel() != 1) return false;
    (i == 1 ? *lo : *hi) = t->getDouble(0);
  }
  return true;
}

// The float op under Q, looking through one Relu/Clip: Q(act(op(...))) or Q(op(...)). Every value
// in between must have no other use.
struct Matched {
  Op* op = nullptr;
  Op* clamp = nullptr;
};
Matched underQuantize(Op& q) {
  Matched m;
  Value* v = q.operand(0);
  if (!v || !hasSingleUse(v) || !v->definingOp()) return m;
  Op* def = v->definingOp();
  double lo, hi;
  if (clampBounds(*def, &lo, &hi)) {
    m.clamp = def;
    v = def->operand(0);
    if (!v || !hasSingleUse(v) || !v->definingOp()) return {};
    def = v->definingOp();
  }
  if (def->numResults() != 1) return {};
  m.op = def;
  return m;
}

// Q(act(v)) = clamp(Q(v), Q(lo), Q(hi)) because Q is monotonic: the clamp becomes an integer Clip,
// or nothing when its bounds are the integer type's own.
Expected<Value*> integerClamp(Rewriter& rw, const Op* clamp, const QParams& yq, Value* q, const std::string& loc) {
  if (!clamp) return q;
  double lo, hi, qmin, qmax;
  clampBounds(*clamp, &lo, &hi);
  qrange(yq.qtype, &qmin, &qmax);
  double qlo = quantizeScalar(lo, yq), qhi = quantizeScalar(hi, yq);
  if (qlo <= qmin && qhi >= qmax) return q;
  Value* lo_v = rw.constant(Tensor::scalar(yq.qtype, qlo), clamp->result()->name() + "_qmin");
  Value* hi_v = rw.constant(Tensor::scalar(yq.qtype, qhi), clamp->result()->name() + "_qmax");
  DLC_ASSIGN_OR_RETURN(Op* c, rw.create(OpKind::Clip, {q, lo_v, hi_v}, {}, 1, loc));
  return c->result();
}

// An int32 bias in the accumulator's scale: b_q[c] = round(b[c] / (x_scale · w_scale[c])), from a
// float constant (times `beta`) or from DQ(int32 b, x_scale·w_scale, 0) as QDQ models store it.
// Null with *ok = false when the bias does not qualify.
Value* integerBias(Rewriter* rw, Value* bias, double beta, const QParams& xq, const QParams& wq, int64_t channels,
                   const std::string& name, bool* ok) {
  *ok = true;
  if (!bias) return nullptr;
  QParams bp;
  if (Op* db = dequantizeOf(bias, &bp)) {
    bool same = bp.qtype == DType::I32 && beta == 1.0 && (bp.perTensor() || bp.count() == channels);
    for (int64_t c = 0; same && c < channels; ++c) {
      double want = xq.scaleAt(0) * wq.scaleAt(c);
      same = bp.zpAt(c) == 0 && std::fabs(bp.scaleAt(c) - want) <= 1e-6 * std::fabs(want);
    }
    if (same && db->operand(0)->type().shape.ranked && db->operand(0)->type().shape.numElements() == channels)
      return rw ? db->operand(0) : nullptr;
  }
  const Tensor* b = constantValue(bias);
  if (!b || !isFloat(b->dtype()) || (b->numel() != 1 && b->numel() != channels)) {
    *ok = false;
    return nullptr;
  }
  Tensor q(DType::I32, {channels});
  for (int64_t c = 0; c < channels; ++c) {
    double s = xq.scaleAt(0) * wq.scaleAt(c);
    double v = s > 0 ? std::nearbyint(beta * b->getDouble(b->numel() == 1 ? 0 : c) / s) : 0.0;
    if (!(std::fabs(v) <= 2147483647.0)) {
      *ok = false;
      return nullptr;
    }
    q.setDouble(c, v);
  }
  return rw ? rw->constant(std::move(q), name) : nullptr;
}

// The integer weight and its parameters when they suit a QLinear op: int8 (or u8) data, zero
// points and a per-tensor or per-`axis` scale of `channels` elements.
bool weightParams(Value* w, int axis, int64_t channels, Op** dq, QParams* p) {
  *dq = dequantizeOf(w, p);
  if (!*dq || !isInt8(p->qtype)) return false;
  return p->perTensor() || (p->axis == axis && p->count() == channels);
}

int64_t staticDim(const Value* v, int i) {
  const Type& t = v->type();
  if (!t.isTensor() || !t.shape.ranked || i >= t.shape.rank()) return -1;
  const Dim& d = t.shape.dims[static_cast<size_t>(i < 0 ? t.shape.rank() + i : i)];
  return d.isStatic() ? d.value : -1;
}

// Q(act(Conv(DQ(x), DQ(w), b))) ==> act_q(QLinearConv(x, xs, xz, w, ws, wz, ys, yz, b_q))
//   with per-tensor x and y parameters, w per-tensor or per output channel (axis 0).
class FuseQuantizedConv : public RewritePattern {
 public:
  const char* name() const override { return "fuse-qdq-conv"; }
  Expected<bool> matchAndRewrite(Op& q, Rewriter& rw) const override {
    QParams yq, xq, wq;
    if (q.kind() != OpKind::QuantizeLinear || !readParams(q, &yq) || !yq.perTensor() || !isInt8(yq.qtype)) return false;
    Matched m = underQuantize(q);
    if (!m.op || m.op->kind() != OpKind::Conv) return false;
    Op& conv = *m.op;
    Op* dx = dequantizeOf(conv.operand(0), &xq);
    const int64_t M = staticDim(conv.operand(1), 0);
    Op* dw = nullptr;
    if (!dx || !xq.perTensor() || !isInt8(xq.qtype) || M < 1 || !weightParams(conv.operand(1), 0, M, &dw, &wq)) return false;
    bool bias_ok = false;
    integerBias(nullptr, conv.operand(2), 1.0, xq, wq, M, {}, &bias_ok);
    if (!bias_ok) return false;

    const std::string base = q.result()->name();
    Value* bq = integerBias(&rw, conv.operand(2), 1.0, xq, wq, M, base + "_bias_q", &bias_ok);
    std::vector<Value*> operands{dx->operand(0), xq.scale_value, zeroPointValue(rw, xq, base + "_x_zp"),
                                 dw->operand(0), wq.scale_value, zeroPointValue(rw, wq, base + "_w_zp"),
                                 yq.scale_value, zeroPointValue(rw, yq, base + "_y_zp")};
    if (bq) operands.push_back(bq);
    DLC_ASSIGN_OR_RETURN(Op* qconv, rw.create(OpKind::QLinearConv, operands, conv.attrs(), 1, conv.location()));
    DLC_ASSIGN_OR_RETURN(Value* out, integerClamp(rw, m.clamp, yq, qconv->result(), conv.location()));
    out->setName(base);
    rw.replaceOp(q, {out});
    if (m.clamp) rw.eraseOp(*m.clamp);
    rw.eraseOp(conv);
    return true;
  }
};

// Q(act(MatMul(DQ(a), DQ(b)))) ==> act_q(QLinearMatMul(a, as, az, b, bs, bz, ys, yz))
//   with per-tensor a and y, b per-tensor or per column (2-D b, axis 1).
class FuseQuantizedMatMul : public RewritePattern {
 public:
  const char* name() const override { return "fuse-qdq-matmul"; }
  Expected<bool> matchAndRewrite(Op& q, Rewriter& rw) const override {
    QParams yq, aq, bq;
    if (q.kind() != OpKind::QuantizeLinear || !readParams(q, &yq) || !yq.perTensor() || !isInt8(yq.qtype)) return false;
    Matched m = underQuantize(q);
    if (!m.op || m.op->kind() != OpKind::MatMul) return false;
    Op& mm = *m.op;
    Op* da = dequantizeOf(mm.operand(0), &aq);
    Op* db = nullptr;
    const Type& bt = mm.operand(1)->type();
    if (!da || !aq.perTensor() || !isInt8(aq.qtype) || !bt.shape.ranked) return false;
    const int64_t N = bt.shape.rank() == 2 ? staticDim(mm.operand(1), 1) : -1;
    if (!weightParams(mm.operand(1), 1, N, &db, &bq)) return false;
    if (!bq.perTensor() && bt.shape.rank() != 2) return false;

    const std::string base = q.result()->name();
    std::vector<Value*> operands{da->operand(0), aq.scale_value, zeroPointValue(rw, aq, base + "_a_zp"),
                                 db->operand(0), bq.scale_value, zeroPointValue(rw, bq, base + "_b_zp"),
                                 yq.scale_value, zeroPointValue(rw, yq, base + "_y_zp")};
    DLC_ASSIGN_OR_RETURN(Op* qmm, rw.create(OpKind::QLinearMatMul, operands, {}, 1, mm.location()));
    DLC_ASSIGN_OR_RETURN(Value* out, integerClamp(rw, m.clamp, yq, qmm->result(), mm.location()));
    out->setName(base);
    rw.replaceOp(q, {out});
    if (m.clamp) rw.eraseOp(*m.clamp);
    rw.eraseOp(mm);
    return true;
  }
};

// Residual additions and products between quantized tensors, ONNX Runtime's QLinearAdd/QLinearMul:
//   Q_c(act(DQ_a(a) + DQ_b(b)))  ==>  act_q(QLinearAdd(a, s_a, z_a, b, s_b, z_b, s_c, z_c))
// (and · for Mul), which is their definition; per-tensor parameters, a, b and the result of one
// int8 type.
class FuseQuantizedBinary : public RewritePattern {
 public:
  const char* name() const override { return "fuse-qdq-binary"; }
  Expected<bool> matchAndRewrite(Op& q, Rewriter& rw) const override {
    QParams yq, aq, bq;
    if (q.kind() != OpKind::QuantizeLinear || !readParams(q, &yq) || !yq.perTensor() || !isInt8(yq.qtype)) return false;
    Matched m = underQuantize(q);
    if (!m.op || (m.op->kind() != OpKind::Add && m.op->kind() != OpKind::Mul) || m.op->numOperands() != 2) return false;
    Op& op = *m.op;
    Op* da = dequantizeOf(op.operand(0), &aq);
    Op* db = dequantizeOf(op.operand(1), &bq);
    if (!da || !db || !aq.perTensor() || !bq.perTensor() || aq.qtype != yq.qtype || bq.qtype != yq.qtype) return false;
    const std::string base = q.result()->name();
    std::vector<Value*> operands{da->operand(0), aq.scale_value, zeroPointValue(rw, aq, base + "_a_zp"),
                                 db->operand(0), bq.scale_value, zeroPointValue(rw, bq, base + "_b_zp"),
                                 yq.scale_value, zeroPointValue(rw, yq, base + "_y_zp")};
    const OpKind kind = op.kind() == OpKind::Add ? OpKind::QLinearAdd : OpKind::QLinearMul;
    DLC_ASSIGN_OR_RETURN(Op* qop, rw.create(kind, operands, {}, 1, op.location()));
    DLC_ASSIGN_OR_RETURN(Value* out, integerClamp(rw, m.clamp, yq, qop->result(), op.location()));
    out->setName(base);
    rw.replaceOp(q, {out});
    if (m.clamp) rw.eraseOp(*m.clamp);
    rw.eraseOp(op);
    return true;
  }
};

// A fully connected layer with a bias, which QLinearMatMul cannot hold, as a 1x1 convolution,
// which holds it in int32:
//   Q(act(Gemm(DQ(a), DQ(b), c)))   (alpha = 1, transA = 0, a: [M, K])
//   Q(act(MatMul(DQ(a), DQ(b)) + c))                       (a: [..., K] with static leading dims)
//     ==> Reshape(act_q(QLinearConv(Reshape(a, [-1, K, 1, 1]), w4, ..., b_q)), [..., N])
//   y[m, n] = Σ_k a[m, k]·W[n, k] + c[n] is the 1x1 convolution of the [M, K, 1, 1] image with
//   weights w4 = W as [N, K, 1, 1] (W = b for transB = 1, bᵀ otherwise, per-channel scales then on
//   b's axis 0 or 1).
class FuseQuantizedLinear : public RewritePattern {
 public:
  const char* name() const override { return "fuse-qdq-linear"; }
  Expected<bool> matchAndRewrite(Op& q, Rewriter& rw) const override {
    QParams yq, aq, wq;
    if (q.kind() != OpKind::QuantizeLinear || !readParams(q, &yq) || !yq.perTensor() || !isInt8(yq.qtype)) return false;
    Matched m = underQuantize(q);
    if (!m.op) return false;
    Op* mm = m.op;
    Op* add = nullptr;
    Value* bias = nullptr;
    bool trans_b = false;
    double beta = 1.0;
    if (mm->kind() == OpKind::Gemm) {
      if (mm->getInt("transA", 0) != 0 || mm->getFloat("alpha", 1.0f) != 1.0f) return false;
      trans_b = mm->getInt("transB", 0) != 0;
      bias = mm->operand(2);
      beta = mm->getFloat("beta", 1.0f);
    } else if (mm->kind() == OpKind::Add) {
      add = mm;
      mm = nullptr;
      for (int i = 0; i < 2 && !mm; ++i)
        if (producerOf(add->operand(i), OpKind::MatMul) && hasSingleUse(add->operand(i)) && constantValue(add->operand(1 - i))) {
          mm = add->operand(i)->definingOp();
          bias = add->operand(1 - i);
        }
      if (!mm) return false;
    } else {
      return false;
    }
    const Type& at = mm->operand(0)->type();
    const Type& wt = mm->operand(1)->type();
    if (!at.isTensor() || !at.shape.ranked || at.shape.rank() < 2 || !wt.shape.ranked || wt.shape.rank() != 2) return false;
    if (mm->kind() == OpKind::Gemm && at.shape.rank() != 2) return false;
    std::vector<int64_t> lead;  // the output's leading dims (MatMul of rank > 2)
    for (int i = 0; i + 1 < at.shape.rank(); ++i) {
      if (at.shape.rank() == 2) {
        lead.push_back(-1);
        break;
      }
      int64_t d = staticDim(mm->operand(0), i);
      if (d < 0) return false;
      lead.push_back(d);
    }
    const int64_t K = staticDim(mm->operand(1), trans_b ? 1 : 0), N = staticDim(mm->operand(1), trans_b ? 0 : 1);
    Op* da = dequantizeOf(mm->operand(0), &aq);
    Op* dw = nullptr;
    if (K < 1 || N < 1 || !da || !aq.perTensor() || !isInt8(aq.qtype) || !weightParams(mm->operand(1), trans_b ? 0 : 1, N, &dw, &wq))
      return false;
    if (bias) {
      const Tensor* c = constantValue(bias);
      const Type& ct = bias->type();
      // c must broadcast along the columns only: a scalar, [N] or [1, N].
      bool per_column = ct.shape.ranked && ct.shape.numElements() == N && (ct.shape.rank() == 1 || (ct.shape.rank() == 2 && staticDim(bias, 0) == 1));
      if (c && c->numel() != 1 && !per_column) return false;
    }
    bool bias_ok = false;
    integerBias(nullptr, bias, beta, aq, wq, N, {}, &bias_ok);
    if (!bias_ok) return false;

    const std::string base = q.result()->name();
    auto shape = [&](std::vector<int64_t> dims, const std::string& n) {
      return rw.constant(Tensor::fromVector<int64_t>(DType::I64, {static_cast<int64_t>(dims.size())}, dims), base + n);
    };
    DLC_ASSIGN_OR_RETURN(Op* a4, rw.create(OpKind::Reshape, {da->operand(0), shape({-1, K, 1, 1}, "_a4")}, {}, 1, mm->location()));
    Value* w = dw->operand(0);
    if (!trans_b) {
      DLC_ASSIGN_OR_RETURN(Op* t, rw.create(OpKind::Transpose, {w}, {{"perm", Attribute::ofInts({1, 0})}}, 1, mm->location()));
      w = t->result();
    }
    DLC_ASSIGN_OR_RETURN(Op* w4, rw.create(OpKind::Reshape, {w, shape({N, K, 1, 1}, "_w4")}, {}, 1, mm->location()));
    Value* bq = integerBias(&rw, bias, beta, aq, wq, N, base + "_bias_q", &bias_ok);
    std::vector<Value*> operands{a4->result(), aq.scale_value, zeroPointValue(rw, aq, base + "_a_zp"),
                                 w4->result(), wq.scale_value, zeroPointValue(rw, wq, base + "_w_zp"),
                                 yq.scale_value, zeroPointValue(rw, yq, base + "_y_zp")};
    if (bq) operands.push_back(bq);
    DLC_ASSIGN_OR_RETURN(Op* qconv, rw.create(OpKind::QLinearConv, operands, {{"kernel_shape", Attribute::ofInts({1, 1})}}, 1,
                                              mm->location()));
    DLC_ASSIGN_OR_RETURN(Value* clamped, integerClamp(rw, m.clamp, yq, qconv->result(), mm->location()));
    std::vector<int64_t> out_dims = lead;
    out_dims.push_back(N);
    DLC_ASSIGN_OR_RETURN(Op* y, rw.create(OpKind::Reshape, {clamped, shape(out_dims, "_shape")}, {}, 1, mm->location()));
    y->result()->setName(base);
    rw.replaceOp(q, {y->result()});
    if (m.clamp) rw.eraseOp(*m.clamp);
    if (add) rw.eraseOp(*add);
    rw.eraseOp(*mm);
    return true;
  }
};

// Q_s,z(op(DQ_s,z(x1), ..., other operands)) ==> op(x1, ..., other operands)   for value-moving
// ops, every data operand (operand 0; all operands of Concat) dequantized with Q's parameters.
class FuseQuantizedDataMovement : public RewritePattern {
 public:
  const char* name() const override { return "fuse-qdq-data-movement"; }
  Expected<bool> matchAndRewrite(Op& q, Rewriter& rw) const override {
    QParams yq;
    if (q.kind() != OpKind::QuantizeLinear || !readParams(q, &yq) || !yq.perTensor()) return false;
    Value* v = q.operand(0);
    Op* op = v ? v->definingOp() : nullptr;
    if (!op || !hasSingleUse(v) || op->numResults() != 1 || !quantize::movesValues(*op)) return false;
    const int data_operands = op->kind() == OpKind::Concat ? op->numOperands() : 1;
    std::vector<Value*> operands = op->operands();
    for (int i = 0; i < data_operands; ++i) {
      QParams xq;
      Op* dq = operands[static_cast<size_t>(i)] ? dequantizeOf(operands[static_cast<size_t>(i)], &xq) : nullptr;
      if (!dq || !sameParams(xq, yq)) return false;
      operands[static_cast<size_t>(i)] = dq->operand(0);
    }
    DLC_ASSIGN_OR_RETURN(Op* moved, rw.create(op->kind(), operands, op->attrs(), 1, op->location()));
    moved->result()->setName(q.result()->name());
    rw.replaceOp(q, {moved->result()});
    rw.eraseOp(*op);
    return true;
  }
};

// Q_s,z(DQ_s,z(x)) ==> x
class CancelQuantizeDequantize : public RewritePattern {
 public:
  const char* name() const override { return "cancel-quantize-dequantize"; }
  Expected<bool> matchAndRewrite(Op& q, Rewriter& rw) const override {
    QParams yq, xq;
    if (q.kind() != OpKind::QuantizeLinear || !readParams(q, &yq)) return false;
    Op* dq = dequantizeOf(q.operand(0), &xq);
    if (!dq || !sameParams(xq, yq)) return false;
    rw.replaceOp(q, {dq->operand(0)});
    return true;
  }
};

class FuseQdq : public Pass {
 public:
  Status run(Graph& graph, const PassContext&) override {
    PatternList patterns;
    patterns.push_back(std::make_unique<CancelQuantizeDequantize>());
    patterns.push_back(std::make_unique<FuseQuantizedConv>());
    patterns.push_back(std::make_unique<FuseQuantizedMatMul>());
    patterns.push_back(std::make_unique<FuseQuantizedLinear>());
    patterns.push_back(std::make_unique<FuseQuantizedBinary>());
    patterns.push_back(std::make_unique<FuseQuantizedDataMovement>());
    return applyPatternsGreedily(graph.body(), patterns).status();
  }
};

}  // namespace

std::unique_ptr<Pass> createFuseQdqPass() { return std::make_unique<FuseQdq>(); }

}  // namespace dlc::passes
