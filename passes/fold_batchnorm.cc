// fold-batchnorm: folds inference BatchNormalization into the constant weights of the Conv,
// ConvTranspose, Gemm or MatMul that feeds it.
#include <cmath>
#include <vector>

#include "passes/pass.h"
#include "passes/pattern.h"

namespace dlc::passes {
namespace {

// Per-channel affine form of an inference BN: y = x·s + t with s = γ/√(σ²+ε), t = β - μ·s.
struct ChannelAffine {
  std::vector<double> mean, scale, shift;
};

bool isFoldableFloat(DType t) { return t == DType::F32 || t == DType::F64; }

// The BN's constant parameters, each of `channels` elements; false when the op does not qualify.
bool bnAffine(const Op& bn, int64_t channels, ChannelAffine* out) {
  if (bn.numResults() != 1 || bn.getInt("training_mode", 0) != 0) return false;
  const Tensor* p[4];
  for (int i = 0; i < 4; ++i) {
    p[i] = constantValue(bn.operand(i + 1));
    if (!p[i] || !isFoldableFloat(p[i]->dtype()) || p[i]->numel() != channels) return false;
  }
  const double eps = bn.getFloat("epsilon", 1e-5f);
  for (int64_t c = 0; c < channels; ++c) {
    double var = p[3]->getDouble(c);
    if (var + eps <= 0) return false;
    double s = p[0]->getDouble(c) / std::sqrt(var + eps);
    out->scale.push_back(s);
    out->mean.push_back(p[2]->getDouble(c));
    out->shift.push_back(p[1]->getDouble(c) - out->mean.back() * s);
  }
  return true;
}

// New bias b'[c] = (b[c] - μ[c])·s[c] + β[c] = b[c]·s[c] + t[c], stored in dtype `dt`; `b` may be null
// (zero) or hold one value broadcast to all channels (`b_scale` multiplies it first, Gemm's beta).
Tensor foldedBias(const Tensor* b, double b_scale, const ChannelAffine& a, DType dt) {
  const int64_t n = static_cast<int64_t>(a.scale.size());
  Tensor out(dt, {n});
  for (int64_t c = 0; c < n; ++c) {
    double bv = b ? b_scale * b->getDouble(b->numel() == 1 ? 0 : c) : 0.0;
    out.setDouble(c, bv * a.scale[static_cast<size_t>(c)] + a.shift[static_cast<size_t>(c)]);
  }
  return out;
}

// Rank of `v` when it is a ranked tensor whose channel dim 1 is static, else -1.
int rankWithChannels(const Value* v) {
  if (!v || !v->type().isTensor() || !v->type().shape.ranked) return -1;
  const Shape& s = v->type().shape;
  return s.rank() >= 2 && s.dims[1].isStatic() ? s.rank() : -1;
}

// Conv(x, w, b) -> BN(γ,β,μ,σ²,ε)  ==>  Conv(x, w·γ/√(σ²+ε), (b-μ)·γ/√(σ²+ε)+β)
// Output channel m of Conv is W[m, ...]. ConvTranspose's W is [C, M/G, k...]: output channel
// m = g·(M/G) + j of group g is W[g·C/G + c, j, ...] for every c.
class FoldBatchNormIntoConv : public RewritePattern {
 public:
  const char* name() const override { return "fold-batchnorm-conv"; }
  Expected<bool> matchAndRewrite(Op& bn, Rewriter& rw) const override {
    if (bn.kind() != OpKind::BatchNormalization || !hasSingleUse(bn.operand(0))) return false;
    Op* conv = producerOf(bn.operand(0), OpKind::Conv);
    if (!conv) conv = producerOf(bn.operand(0), OpKind::ConvTranspose);
    if (!conv) return false;
    const bool transpose = conv->kind() == OpKind::ConvTranspose;
    const Tensor* w = constantValue(conv->operand(1));
    const Tensor* b = conv->operand(2) ? constantValue(conv->operand(2)) : nullptr;
    if (!w || !isFoldableFloat(w->dtype()) || w->rank() < 3 || (conv->operand(2) && !b)) return false;
    if (rankWithChannels(bn.operand(0)) < 3) return false;
    const int64_t G = conv->getInt("group", 1);
    if (G < 1 || (transpose && w->dim(0) % G != 0)) return false;
    const int64_t M = transpose ? w->dim(1) * G : w->dim(0);
    if (bn.operand(0)->type().shape.dims[1].value != M || (b && b->numel() != M)) return false;
    ChannelAffine a;
    if (!bnAffine(bn, M, &a)) return false;

    Tensor nw(w->dtype(), w->shape());
    const int64_t inner = w->numel() / (w->dim(0) * w->dim(1));  // kernel elements
    const int64_t per_group_in = w->dim(0) / G;
    for (int64_t i = 0; i < w->numel(); ++i) {
      int64_t m = i / (w->dim(1) * inner);  // Conv: W's dim 0 is the output channel
      if (transpose) m = (m / per_group_in) * w->dim(1) + (i / inner) % w->dim(1);
      nw.setDouble(i, w->getDouble(i) * a.scale[static_cast<size_t>(m)]);
    }
    Value* wv = rw.constant(std::move(nw), conv->operand(1)->name() + "_bn");
    Value* bv = rw.constant(foldedBias(b, 1.0, a, w->dtype()), bn.result()->name() + "_bias");
    DLC_ASSIGN_OR_RETURN(Op* folded, rw.create(conv->kind(), {conv->operand(0), wv, bv}, conv->attrs(), 1,
                                               conv->location()));
    folded->result()->setName(bn.result()->name());
    rw.replaceOp(bn, {folded->result()});
    rw.eraseOp(*conv);
    return true;
  }
};

// Gemm(A, B, C) -> BN over the columns of the 2-D [N, C] result (channel axis 1 is the last axis):
//   alpha·op(A)·op(B)·s + (beta·C - μ)·s + β  ==>  Gemm(A, B', C') with column n of op(B) scaled:
//   B'[:, n] = op(B)[:, n]·γ[n]/√(σ²[n]+ε),  C' = (beta·C - μ)·γ/√(σ²+ε) + β,  beta' = 1.
// MatMul(A, B) with 2-D A is Gemm(A, B) (alpha = beta = 1, no C), and MatMul(A, B) + c is
// Gemm(A, B, c): both fold the same way.
class FoldBatchNormIntoGemm : public RewritePattern {
 public:
  const char* name() const override { return "fold-batchnorm-gemm"; }
  Expected<bool> matchAndRewrite(Op& bn, Rewriter& rw) const override {
    if (bn.kind() != OpKind::BatchNormalization || !hasSingleUse(bn.operand(0))) return false;
    if (rankWithChannels(bn.operand(0)) != 2) return false;
    Op* mm = producerOf(bn.operand(0), OpKind::Gemm);
    if (!mm) mm = producerOf(bn.operand(0), OpKind::MatMul);
    // MatMul(A, B) + c (a Linear layer) is Gemm(A, B, c).
    Op* bias_add = mm ? nullptr : producerOf(bn.operand(0), OpKind::Add);
    const Tensor* c = nullptr;
    if (bias_add) {
      for (int i = 0; i < 2 && !mm; ++i) {
        Value* prod = bias_add->operand(i);
        if (producerOf(prod, OpKind::MatMul) && hasSingleUse(prod) && constantValue(bias_add->operand(1 - i))) {
          mm = prod->definingOp();
          c = constantValue(bias_add->operand(1 - i));
        }
      }
    }
    if (!mm || !mm->operand(0)->type().isTensor() || !mm->operand(0)->type().shape.ranked ||
        mm->operand(0)->type().shape.rank() != 2)
      return false;
    const bool gemm = mm->kind() == OpKind::Gemm;
    const bool tb = gemm && mm->getInt("transB", 0) != 0;
    const Tensor* w = constantValue(mm->operand(1));
    if (!w || !isFoldableFloat(w->dtype()) || w->rank() != 2) return false;
    const int64_t N = tb ? w->dim(0) : w->dim(1);
    double beta = gemm ? mm->getFloat("beta", 1.0f) : 1.0;
    if (gemm && mm->operand(2)) {
      c = constantValue(mm->operand(2));
      if (!c) return false;
    }
    if (c && ((c->numel() != 1 && c->numel() != N) || c->rank() > 2 || (c->rank() == 2 && c->dim(1) != N)))
      return false;
    if (bn.operand(0)->type().shape.dims[1].value != N) return false;
    ChannelAffine a;
    if (!bnAffine(bn, N, &a)) return false;

    Tensor nw(w->dtype(), w->shape());
    for (int64_t i = 0; i < w->numel(); ++i) {
      int64_t n = tb ? i / w->dim(1) : i % w->dim(1);
      nw.setDouble(i, w->getDouble(i) * a.scale[static_cast<size_t>(n)]);
    }
    Value* wv = rw.constant(std::move(nw), mm->operand(1)->name() + "_bn");
    Value* cv = rw.constant(foldedBias(c, beta, a, w->dtype()), bn.result()->name() + "_bias");
    std::map<std::string, Attribute> attrs = gemm ? mm->attrs() : std::map<std::string, Attribute>{};
    attrs["beta"] = Attribute::ofFloat(1.0f);
    DLC_ASSIGN_OR_RETURN(Op* folded, rw.create(OpKind::Gemm, {mm->operand(0), wv, cv}, attrs, 1, mm->location()));
    folded->result()->setName(bn.result()->name());
    rw.replaceOp(bn, {folded->result()});
    if (bias_add) rw.eraseOp(*bias_add);
    rw.eraseOp(*mm);
    return true;
  }
};

class FoldBatchNorm : public Pass {
 public:
  Status run(Graph& graph, const PassContext&) override {
    PatternList patterns;
    patterns.push_back(std::make_unique<FoldBatchNormIntoConv>());
    patterns.push_back(std::make_unique<FoldBatchNormIntoGemm>());
    return applyPatternsGreedily(graph.body(), patterns).status();
  }
};

}  // namespace

std::unique_ptr<Pass> createFoldBatchNormPass() { return std::make_unique<FoldBatchNorm>(); }

}  // namespace dlc::passes
