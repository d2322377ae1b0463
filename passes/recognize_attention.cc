// Recognizes scaled-dot-product attention (per-head Reshape/Transpose/MatMul/Softmax) as dlc Attention.
#include <algorithm>
#include <cmath>
#include <optional>

#include "ir/infer/infer.h"
#include "passes/explain.h"
#include "passes/pass.h"
#include "passes/pattern.h"
#include "passes/shape_expr.h"

namespace dlc::passes {
namespace {

bool isTranspose(const Value* v, std::vector<int64_t> perm) {
  Op* t = producerOf(const_cast<Value*>(v), OpKind::Transpose);
  return t && t->getInts("perm") == perm;
}

// A projection feeding one head layout: the un-split [B,L,H*D] value, and H, D.
struct Proj {
  Value* value = nullptr;  // [B, L, H*D]
  int split_index = -1;    // >= 0: slice `split_index` of a fused [B, L, 3*H*D] projection
  int64_t heads = 0, head_dim = 0;
  Dim len, batch;          // seq-first form: P's [L, B] (B may be '?')
  Value* dims_of = nullptr;  // seq-first form: the value whose dims are [L, B, ..] (P or its whole)
  // Shape ops reading the per-head view (torch's `q.size(-2)` for a causal slice), with the view's
  // layout ([B, H, D, L] when true, else [B, H, L, D]): rewritten to read the projection instead.
  std::vector<std::pair<Op*, bool>> shape_uses;
};

// True when `v` has one use besides Shape ops (no start/end), which are appended to *shapes.
bool singleUseBesidesShapes(Value* v, bool transposed, std::vector<std::pair<Op*, bool>>* shapes) {
  int others = 0;
  std::vector<std::pair<Op*, bool>> found;
  for (const Use& u : v->uses()) {
    if (u.user && u.user->kind() == OpKind::Shape && !u.user->hasAttr("start") && !u.user->hasAttr("end"))
      found.emplace_back(u.user, transposed);
    else
      ++others;
  }
  if (others != 1) return false;
  shapes->insert(shapes->end(), found.begin(), found.end());
  return true;
}

// Replaces each recorded Shape(per-head view) by Concat(B, H, L, D) (or B, H, D, L) with B and L
// read from the projection P : [B, L, ..], built just before the Shape op.
Status replaceHeadShapes(const Proj& p, Rewriter& rw) {
  for (const auto& [sh, transposed] : p.shape_uses) {
    Rewriter at(*sh);
    auto index = [&](int64_t i) { return at.constant(Tensor::fromVector<int64_t>(DType::I64, {1}, {i})); };
    DLC_ASSIGN_OR_RETURN(Op* shape, at.create(OpKind::Shape, {p.value}, {}, 1, sh->location()));
    DLC_ASSIGN_OR_RETURN(Op* b, at.create(OpKind::Gather, {shape->result(), index(0)}, {{"axis", Attribute::ofInt(0)}},
                                          1, sh->location()));
    DLC_ASSIGN_OR_RETURN(Op* l, at.create(OpKind::Gather, {shape->result(), index(1)}, {{"axis", Attribute::ofInt(0)}},
                                          1, sh->location()));
    Value* h = index(p.heads);
    Value* d = index(p.head_dim);
    std::vector<Value*> parts = transposed ? std::vector<Value*>{b->result(), h, d, l->result()}
                                           : std::vector<Value*>{b->result(), h, l->result(), d};
    DLC_ASSIGN_OR_RETURN(Op* cat, at.create(OpKind::Concat, parts, {{"axis", Attribute::ofInt(0)}}, 1, sh->location()));
    rw.replaceOp(*sh, {cat->result()});
  }
  return Status::success();
}

// Static head count and size of a rank-3 [B, L, E] projection reshaped to [B, L, H, D].
bool headsOf(const Op& reshape, int64_t heads, int64_t head_dim, int64_t parts) {
  const Type& t = reshape.operand(0)->type();
  if (!t.isTensor() || !t.shape.ranked || t.shape.rank() != 3 || !t.shape.dims[2].isStatic()) return false;
  if (t.shape.dims[2].value != parts * heads * head_dim) return false;
  Dims want = {t.shape.dims[0], t.shape.dims[1]};
  if (parts > 1) want.push_back(Dim::of(parts));
  want.push_back(Dim::of(heads));
  want.push_back(Dim::of(head_dim));
  return reshapesTo(reshape, want);
}

// Reads H and D from a reshape target [B, L, (3,) H, D] whose last two entries are constants.
bool targetHeads(const Op& reshape, int64_t* heads, int64_t* head_dim) {
  auto target = evalShape(reshape.operand(1));
  if (!target || target->size() < 4) return false;
  const Dim& h = (*target)[target->size() - 2];
  const Dim& d = target->back();
  if (!h.isStatic() || !d.isStatic() || h.value <= 0 || d.value <= 0) return false;
  *heads = h.value;
  *head_dim = d.value;
  return true;
}

// `v` in [B, H, L, D] layout (or [B, H, D, L] when `transposed`) made from a projection:
//   separate: Transpose(Reshape(P, [B,L,H,D]), [0,2,1,3])   (transposed: perm [0,2,3,1], or a
//             further Transpose [0,1,3,2] of the separate form)
//   fused:    Squeeze(Split(Transpose(Reshape(P, [B,L,3,H,D]), [2,0,3,1,4]), axis 0)[i], [0])
//             or Gather(that Transpose, i, axis 0)   (transposed: a further Transpose [0,1,3,2])
std::optional<Proj> headSource(Value* v, bool transposed) {
  std::vector<std::pair<Op*, bool>> shapes;
  if (!singleUseBesidesShapes(v, transposed, &shapes)) return std::nullopt;
  Op* tr = producerOf(v, OpKind::Transpose);
  if (transposed) {
    if (!tr) return std::nullopt;
    if (tr->getInts("perm") == std::vector<int64_t>{0, 1, 3, 2}) {
      auto p = headSource(tr->operand(0), false);
      if (p) p->shape_uses.insert(p->shape_uses.end(), shapes.begin(), shapes.end());
      return p;
    }
    if (tr->getInts("perm") != std::vector<int64_t>{0, 2, 3, 1}) return std::nullopt;
  }
  Proj p;
  p.shape_uses = shapes;
  if (tr && (transposed || tr->getInts("perm") == std::vector<int64_t>{0, 2, 1, 3})) {
    Op* rs = producerOf(tr->operand(0), OpKind::Reshape);
    if (!rs || !hasSingleUse(tr->operand(0)) || !targetHeads(*rs, &p.heads, &p.head_dim)) return std::nullopt;
    if (!headsOf(*rs, p.heads, p.head_dim, 1)) return std::nullopt;
    p.value = rs->operand(0);
    return p;
  }
  if (transposed) return std::nullopt;
  // Fused form: pick slice i of the [3, B, H, L, D] tensor.
  Value* stacked = nullptr;
  Op* def = v->definingOp();
  if (!def) return std::nullopt;
  if (def->kind() == OpKind::Squeeze) {
    auto axes = constInts(def->operand(1));
    Op* split = def->operand(0) ? def->operand(0)->definingOp() : nullptr;
    if (!axes || *axes != std::vector<int64_t>{0} || !split || split->kind() != OpKind::Split ||
        !hasSingleUse(def->operand(0)) || split->getInt("axis", 0) != 0 || split->numResults() != 3)
      return std::nullopt;
    if (split->operand(1)) {
      auto sizes = constInts(split->operand(1));
      if (!sizes || *sizes != std::vector<int64_t>{1, 1, 1}) return std::nullopt;
    }
    stacked = split->operand(0);
    p.split_index = def->operand(0)->index();
  } else if (def->kind() == OpKind::Gather) {
    auto idx = constInts(def->operand(1));
    if (!idx || idx->size() != 1 || def->getInt("axis", 0) != 0 || def->operand(1)->type().shape.rank() != 0)
      return std::nullopt;
    stacked = def->operand(0);
    p.split_index = static_cast<int>((*idx)[0] < 0 ? (*idx)[0] + 3 : (*idx)[0]);
    if (p.split_index < 0 || p.split_index > 2) return std::nullopt;
  } else {
    return std::nullopt;
  }
  if (!isTranspose(stacked, {2, 0, 3, 1, 4})) return std::nullopt;
  Op* rs = producerOf(stacked->definingOp()->operand(0), OpKind::Reshape);
  if (!rs || !hasSingleUse(rs->result()) || !targetHeads(*rs, &p.heads, &p.head_dim)) return std::nullopt;
  if (!headsOf(*rs, p.heads, p.head_dim, 3)) return std::nullopt;
  p.value = rs->operand(0);
  return p;
}

// A scalar float constant's value.
std::optional<double> scalarConst(const Value* v) {
  const Tensor* t = constantValue(v);
  if (!t || t->numel() != 1 || !isFloat(t->dtype())) return std::nullopt;
  return t->getDouble(0);
}

// Strips a single-use Mul/Div by a scalar constant off `v`, folding it into *scale.
Value* stripScale(Value* v, double* scale) {
  if (!hasSingleUse(v)) return v;
  if (Op* m = producerOf(v, OpKind::Mul)) {
    for (int i = 0; i < 2; ++i)
      if (auto c = scalarConst(m->operand(1 - i))) {
        *scale *= *c;
        return m->operand(i);
      }
  }
  if (Op* d = producerOf(v, OpKind::Div)) {
    if (auto c = scalarConst(d->operand(1)); c && *c != 0.0) {
      *scale /= *c;
      return d->operand(0);
    }
  }
  return v;
}

// True when every row of the boolean `cond` (its last axis) has at least one true element, for
// any run-time length: cond is Cast(Slice(...Slice(C))) of a constant C with every slice starting
// at 0, and C[..., i, 0] set for every row i (torch's causal `bias[:, :, :s, :s]` of a tril
// buffer), or such a constant itself.
bool rowsKeepOne(Value* cond) {
  Value* v = cond;
  if (Op* c = producerOf(v, OpKind::Cast)) v = c->operand(0);
  for (int depth = 0; depth < 4; ++depth) {
    Op* sl = producerOf(v, OpKind::Slice);
    if (!sl) break;
    auto starts = constInts(sl->operand(1));
    if (!starts) return false;
    for (int64_t st : *starts)
      if (st != 0) return false;
    if (sl->operand(4)) {
      auto steps = constInts(sl->operand(4));
      if (!steps) return false;
      for (int64_t st : *steps)
        if (st != 1) return false;
    }
    v = sl->operand(0);
  }
  const Tensor* t = constantValue(v);
  if (!t || !t->defined() || t->dtype() == DType::String || t->shape().size() < 2) return false;
  const int64_t cols = t->shape().back();
  if (cols == 0) return false;
  for (int64_t row = 0; row * cols < t->numel(); ++row)
    if (t->getDouble(row * cols) == 0.0) return false;
  return true;
}

// What masks the scores before Softmax: nothing, an additive mask (scores + M), or a where()
// (GPT-2's where(causal, scores, fill)), which becomes the additive mask where(causal, 0, fill).
// The two agree when every row keeps an element and fill <= -1e4: exp(fill + s - max) and
// exp(fill - max) are both 0 in f32 (and exactly -inf when fill is -inf).
struct ScoreMask {
  Value* additive = nullptr;
  Value* additive2 = nullptr;  // (scores + M1) + M2 (Swin: relative position bias, then window mask)
  Value* cond = nullptr;
  Value* fill = nullptr;
  bool any() const { return additive || cond; }
};

// Strips the mask and scalar scales off the Softmax input `in`; returns the value that should be
// the QK^T MatMul's result (null when the masking is not one of the forms). A scale applied after
// the mask (it would scale the mask too) is not accepted.
Value* stripMask(Value* in, double* scale, ScoreMask* mask) {
  double outer = 1.0;
  Value* s = stripScale(in, &outer);
  if (Op* add = producerOf(s, OpKind::Add); add && hasSingleUse(s)) {
    if (outer != 1.0) return nullptr;
    for (int i = 0; i < 2; ++i) {
      double inner = 1.0;
      if (producerOf(stripScale(add->operand(i), &inner), OpKind::MatMul)) {
        mask->additive = add->operand(1 - i);
        return stripScale(add->operand(i), scale);
      }
    }
    for (int i = 0; i < 2; ++i) {  // (scores + M1) + M2
      Op* first = producerOf(add->operand(i), OpKind::Add);
      if (!first || !hasSingleUse(add->operand(i))) continue;
      for (int j = 0; j < 2; ++j) {
        double inner = 1.0;
        if (producerOf(stripScale(first->operand(j), &inner), OpKind::MatMul)) {
          mask->additive = first->operand(1 - j);
          mask->additive2 = add->operand(1 - i);
          return stripScale(first->operand(j), scale);
        }
      }
    }
    return nullptr;
  }
  if (Op* where = producerOf(s, OpKind::Where); where && hasSingleUse(s)) {
    auto fill = scalarConst(where->operand(2));
    double inner = 1.0;
    if (outer != 1.0 || !fill || !(*fill <= -1e4) || !rowsKeepOne(where->operand(0)) ||
        !producerOf(stripScale(where->operand(1), &inner), OpKind::MatMul))
      return nullptr;
    mask->cond = where->operand(0);
    mask->fill = where->operand(2);
    return stripScale(where->operand(1), scale);
  }
  *scale *= outer;
  return s;
}

// The additive mask operand for Attention (built before `anchor` for the where() form).
Expected<Value*> maskOperand(const ScoreMask& m, Rewriter& rw, const std::string& location) {
  if (m.additive2) {
    DLC_ASSIGN_OR_RETURN(Op* sum, rw.create(OpKind::Add, {m.additive, m.additive2}, {}, 1, location));
    return sum->result();
  }
  if (m.additive) return m.additive;
  const DType dt = m.fill->type().dtype;
  Value* zero = rw.constant(Tensor::scalar(dt, 0.0));
  DLC_ASSIGN_OR_RETURN(Op* w, rw.create(OpKind::Where, {m.cond, zero, m.fill}, {}, 1, location));
  return w->result();
}

// True when the mask's type may broadcast to [B, H, S, T] (`full`, the same right-aligned rule as
// the scores' Add): a dim that is not static (unknown, or a symbol of its own, as exporters name
// the dims they could not infer) must be 1 or the full dim at run time for the original Add to
// broadcast, and Attention's kernels check the same at run time; static dims are 1 or equal.
bool maskBroadcasts(const Type& mt, DType dtype, const Dims& full, bool where_form) {
  if (!mt.isTensor() || (!where_form && mt.dtype != dtype) || !mt.shape.ranked ||
      mt.shape.rank() > static_cast<int>(full.size()))
    return false;
  const int off = static_cast<int>(full.size()) - mt.shape.rank();
  for (int i = 0; i < mt.shape.rank(); ++i) {
    const Dim& d = mt.shape.dims[static_cast<size_t>(i)];
    const Dim& f = full[static_cast<size_t>(off + i)];
    if (d.isStatic() && d.value != 1 && f.isStatic() && f.value != d.value) return false;
  }
  return true;
}

// True when every use of `v` other than by `anchor` is shape arithmetic (Shape, Gather, Unsqueeze,
// Concat, ...) that feeds only `anchor`'s shape operand: torch's `ctx.view(ctx.size(0), ...)`,
// dead once the anchor is replaced.
bool usesOnlyFeedShapeOf(const Value* v, const Op* anchor, int depth = 0) {
  if (depth > 6) return false;
  for (const Use& u : v->uses()) {
    if (u.user == anchor && (depth > 0 || u.index == 0)) continue;
    if (!u.user) return false;
    switch (u.user->kind()) {
      case OpKind::Shape:
      case OpKind::Gather:
      case OpKind::Unsqueeze:
      case OpKind::Squeeze:
      case OpKind::Concat:
      case OpKind::Cast:
      case OpKind::Mul:
      case OpKind::Div:
        if (depth == 0 && u.user->kind() != OpKind::Shape) return false;
        if (u.user->numResults() != 1 || !usesOnlyFeedShapeOf(u.user->result(0), anchor, depth + 1)) return false;
        break;
      default: return false;
    }
  }
  return true;
}

// Reshape(Transpose(MatMul(Softmax(Q_h K_h^T · c [+ M]), V_h), [0,2,1,3]), [B,S,H*Dv])
// (M additive, or the where(causal, ·, fill) form above; the transposed value may also feed the
// Reshape's own shape, as in torch's `ctx.view(ctx.size(0), ctx.size(1), E)`)
//   ==>  Attention(Q, K, V[, M]) {num_heads = H, scale = c}
// where Q_h, K_h, V_h are the per-head views of projections Q [B,S,H*D], K [B,T,H*D], V [B,T,H*Dv]
// (slices of one fused [B,S,3·H*D] projection are split with one Split on the last axis).
class AttentionPattern : public RewritePattern {
 public:
  const char* name() const override { return "attention"; }
  Expected<bool> matchAndRewrite(Op& out, Rewriter& rw) const override {
    if (out.kind() != OpKind::Reshape || !isTranspose(out.operand(0), {0, 2, 1, 3}) ||
        !usesOnlyFeedShapeOf(out.operand(0), &out))
      return false;
    Op* pv = producerOf(out.operand(0)->definingOp()->operand(0), OpKind::MatMul);
    if (!pv || !hasSingleUse(pv->result())) return false;
    Op* softmax = producerOf(pv->operand(0), OpKind::Softmax);
    if (!softmax || !hasSingleUse(softmax->result())) return false;
    // From here on the Softmax feeds a head merge: say why it is not attention.
    auto decline = [&](const std::string& why) {
      explainDecline(*softmax, "attention", why);
      return false;
    };
    const int64_t sm_axis = softmax->getInt("axis", -1);
    if (sm_axis != -1 && sm_axis != 3) return decline("the Softmax is not over the last axis");
    double scale = 1.0;
    ScoreMask mask;
    Value* s = stripMask(softmax->operand(0), &scale, &mask);
    Op* qk = s ? producerOf(s, OpKind::MatMul) : nullptr;
    if (!qk)
      return decline("its input is not Q·K^T (times scalars), plus an additive mask or inside a "
                     "where(causal, ., fill <= -1e4)");
    if (!hasSingleUse(s)) return decline("Q·K^T has other users");
    auto q = headSource(stripScale(qk->operand(0), &scale), false);
    auto k = headSource(stripScale(qk->operand(1), &scale), true);
    auto v = headSource(pv->operand(1), false);
    if (!q || !k || !v)
      return decline(str(!q ? "Q" : !k ? "K^T" : "V", " is not a per-head view Transpose(Reshape(P, [B, L, H, D])) ",
                         "of one projection (or a slice of a fused QKV one) used only here"));
    if (scale == 0.0 || !std::isfinite(scale)) return decline("the scale is 0 or not finite");
    if (q->heads != k->heads || q->heads != v->heads || q->head_dim != k->head_dim)
      return decline("Q, K and V have different head counts or sizes");
    const bool fused = q->split_index >= 0;
    if (fused != (k->split_index >= 0) || fused != (v->split_index >= 0) ||
        (fused && (q->value != k->value || q->value != v->value || q->split_index == k->split_index ||
                   q->split_index == v->split_index || k->split_index == v->split_index)))
      return decline("Q, K and V are not three different parts of one fused projection");
    const Type& qt = q->value->type();
    const Type& kt = k->value->type();
    const Type& vt = v->value->type();
    if (qt.dtype != kt.dtype || qt.dtype != vt.dtype || !isFloat(qt.dtype))
      return decline("Q, K and V are not of one float dtype");
    const Dim B = qt.shape.dims[0], S = qt.shape.dims[1];
    // Batch and key lengths agree: provably (one fused projection, or equal known dims).
    auto agree = [](Value* a, Value* b, int i) {
      return a == b || sameDim(a->type().shape.dims[static_cast<size_t>(i)], b->type().shape.dims[static_cast<size_t>(i)]);
    };
    if (!agree(q->value, k->value, 0) || !agree(q->value, v->value, 0) || !agree(k->value, v->value, 1))
      return decline("the batch of Q, K and V (or the length of K and V) are not provably equal");
    if (!reshapesTo(out, {B, S, Dim::of(v->heads * v->head_dim)}))
      return decline("the merged heads are not reshaped to [B, S, H·Dv]");
    if (mask.any()) {
      const Value* m = mask.additive ? mask.additive : mask.cond;
      const Dims full = {B, Dim::of(q->heads), S, kt.shape.dims[1]};
      if ((mask.fill && mask.fill->type().dtype != qt.dtype) ||
          !maskBroadcasts(m->type(), qt.dtype, full, mask.cond != nullptr) ||
          (mask.additive2 && !maskBroadcasts(mask.additive2->type(), qt.dtype, full, false)))
        return decline("the mask's dtype or static dims do not broadcast to [B, H, S, T]");
    }
    Value* qv = q->value;
    Value* kv = k->value;
    Value* vv = v->value;
    if (fused) {
      const int64_t e = q->heads * q->head_dim;
      Value* sizes = rw.constant(Tensor::fromVector<int64_t>(DType::I64, {3}, {e, e, e}));
      DLC_ASSIGN_OR_RETURN(Op* split, rw.create(OpKind::Split, {q->value, sizes}, {{"axis", Attribute::ofInt(-1)}}, 3,
                                                out.location()));
      qv = split->result(q->split_index);
      kv = split->result(k->split_index);
      vv = split->result(v->split_index);
    }
    std::vector<Value*> operands = {qv, kv, vv};
    if (mask.any()) {
      DLC_ASSIGN_OR_RETURN(Value* m, maskOperand(mask, rw, out.location()));
      operands.push_back(m);
    }
    std::map<std::string, Attribute> attrs = {{"num_heads", Attribute::ofInt(q->heads)},
                                              {"scale", Attribute::ofFloat(static_cast<float>(scale))}};
    DLC_ASSIGN_OR_RETURN(Op* attn, rw.create(OpKind::Attention, operands, attrs, 1, out.location()));
    for (const auto* proj : {&*q, &*k, &*v}) DLC_RETURN_IF_ERROR(replaceHeadShapes(*proj, rw));
    rw.replaceOp(out, {attn->result()});
    return true;
  }
};

// The part index i of `v` = Slice(P, [i·E], [(i+1)·E], axes=[-1]) of a [L, B, 3·E] projection P
// (torch's chunk of the fused in-projection), or -1.
int chunkIndex(Value* v, Value** whole) {
  Op* sl = producerOf(v, OpKind::Slice);
  if (!sl) return -1;
  const Type& t = sl->operand(0)->type();
  if (!t.isTensor() || !t.shape.ranked || t.shape.rank() != 3 || !t.shape.dims[2].isStatic() ||
      t.shape.dims[2].value % 3 != 0)
    return -1;
  const int64_t whole_dim = t.shape.dims[2].value, e = whole_dim / 3;
  auto starts = evalShape(sl->operand(1));
  auto ends = evalShape(sl->operand(2));
  auto axes = sl->operand(3) ? evalShape(sl->operand(3)) : std::optional<Dims>();
  if (!starts || !ends || !axes || starts->size() != 1 || ends->size() != 1 || axes->size() != 1) return -1;
  if (sl->operand(4)) {
    auto steps = constInts(sl->operand(4));
    if (!steps || *steps != std::vector<int64_t>{1}) return -1;
  }
  // Axis -1 comes back as unknown (negative); 2 is the same axis.
  const Dim& ax = (*axes)[0];
  auto raw_axes = constInts(sl->operand(3));
  if (!(ax.isStatic() && ax.value == 2) && !(raw_axes && *raw_axes == std::vector<int64_t>{-1})) return -1;
  const Dim& b = (*starts)[0];
  const Dim& en = (*ends)[0];
  if (!b.isStatic() || !en.isStatic() || b.value % e != 0 || std::min(en.value, whole_dim) != b.value + e) return -1;
  *whole = sl->operand(0);
  return static_cast<int>(b.value / e);
}

// The seq-first per-head view Transpose(Reshape(P, [L, B·H, D]), perm) of an [L, B, H·D]
// projection P (perm [1,0,2]: [B·H, L, D]; [1,2,0]: [B·H, D, L]). L and B may be symbolic (a
// dynamic batch): the target's middle entry must then provably be H·B (torch computes it as
// Mul(Gather(Shape(x), 1), H)), with H·D = E checked statically, so the reshape is the head split.
std::optional<Proj> seqFirstHeads(Value* v, std::vector<int64_t> perm) {
  if (!hasSingleUse(v) || !isTranspose(v, perm)) return std::nullopt;
  Op* rs = producerOf(v->definingOp()->operand(0), OpKind::Reshape);
  if (!rs || !hasSingleUse(rs->result()) || rs->getInt("allowzero", 0) != 0) return std::nullopt;
  // P's dims: its type, or those of the in-projection it is a chunk of (torch's chunk ends are
  // computed, so the Slice's last dim is often not inferred).
  Value* whole = nullptr;
  const bool chunk = chunkIndex(rs->operand(0), &whole) >= 0;
  const Type& t = chunk ? whole->type() : rs->operand(0)->type();
  if (!t.isTensor() || !t.shape.ranked || t.shape.rank() != 3) return std::nullopt;
  const Dim L = t.shape.dims[0], B = t.shape.dims[1], E3 = t.shape.dims[2];
  if (!known(L) || !E3.isStatic() || (B.isStatic() && B.value <= 0)) return std::nullopt;
  Value* dims_of = chunk ? whole : rs->operand(0);
  const int64_t E = E3.value / (chunk ? 3 : 1);
  auto target = evalScaled(rs->operand(1));
  if (!target || target->size() != 3) return std::nullopt;
  const Scaled& bh = (*target)[1];
  const Scaled& d = (*target)[2];
  if (!entryIs((*target)[0], L, 1) || !d.dim.isStatic() || d.dim.value * d.factor <= 0) return std::nullopt;
  const int64_t head_dim = d.dim.value * d.factor;
  int64_t heads = 0;
  if (bh.dim.isStatic() && B.isStatic()) {  // static B·H: H = (B·H) / B
    const int64_t n = bh.dim.value * bh.factor;
    if (n % B.value != 0) return std::nullopt;
    heads = n / B.value;
  } else if (entryIsDimOf(bh, dims_of, 1, bh.factor)) {  // symbolic / '?': the entry is H·B itself
    heads = bh.factor;
  } else {
    return std::nullopt;
  }
  if (heads <= 0 || heads * head_dim != E) return std::nullopt;
  Proj p;
  p.value = rs->operand(0);
  p.heads = heads;
  p.head_dim = head_dim;
  p.len = L;
  p.batch = B;
  p.dims_of = dims_of;
  return p;
}

// True when `reshape`'s target is [S·B, E] for a known S, B (one of them static when the other is
// symbolic, so that the product is an entry k·d).
bool reshapesToSeqBatch(const Op& reshape, const Proj& p, int64_t e) {
  const Dim &S = p.len, &B = p.batch;
  if (reshape.getInt("allowzero", 0) != 0) return false;
  auto target = evalScaled(reshape.operand(1));
  if (!target || target->size() != 2 || !entryIs((*target)[1], Dim::of(e), 1)) return false;
  const Scaled& sb = (*target)[0];
  if (S.isStatic() && B.isStatic()) return entryIs(sb, Dim::of(S.value * B.value), 1);
  if (S.isStatic()) return entryIsDimOf(sb, p.dims_of, 1, S.value);
  if (B.isStatic()) return entryIs(sb, S, B.value);
  return false;
}

// Both S and B symbolic: the target is Concat(Unsqueeze(Mul(s, b)), E) with s and b the run-time
// dims 0 and 1 of the projection (either order), as torch writes `attn.view(tgt_len * bsz, E)`.
bool reshapesToSymbolicSeqBatch(const Op& reshape, const Proj& p, int64_t e) {
  if (reshape.getInt("allowzero", 0) != 0) return false;
  Op* cat = producerOf(reshape.operand(1), OpKind::Concat);
  if (!cat || cat->numOperands() != 2 || cat->getInt("axis", 0) != 0) return false;
  auto tail = evalScaled(cat->operand(1));
  if (!tail || tail->size() != 1 || !entryIs((*tail)[0], Dim::of(e), 1)) return false;
  Value* prod = cat->operand(0);
  if (Op* u = producerOf(prod, OpKind::Unsqueeze)) prod = u->operand(0);
  Op* mul = producerOf(prod, OpKind::Mul);
  if (!mul) return false;
  auto a = evalScaled(mul->operand(0));
  auto b = evalScaled(mul->operand(1));
  if (!a || !b || a->size() != 1 || b->size() != 1) return false;
  auto is = [&](const Scaled& x, int axis) { return entryIsDimOf(x, p.dims_of, axis, 1); };
  return (is((*a)[0], 0) && is((*b)[0], 1)) || (is((*a)[0], 1) && is((*b)[0], 0));
}

// Seq-first multi-head attention (torch 1.13's F.multi_head_attention_forward; static or symbolic
// batch):
// Reshape(Transpose(MatMul(Softmax(Q_h·c K_h^T [+ M]), V_h), [1,0,2]), [S·B, E]) with Q_h = Transpose(
// Reshape(Q, [S, B·H, D]), [1,0,2]), K_h^T likewise with perm [1,2,0], Q/K/V [L, B, E], M an
// [S, T] or [1, S, T] mask (torch's attn_mask, through baddbmm) or a where() as above
//   ==>  Reshape(Transpose(Attention(Q^T, K^T, V^T[, M]) {num_heads = H, scale = c}, [1,0,2]), [S·B, E])
// where X^T = Transpose(X, [1,0,2]); three chunks of one in-projection are transposed once and Split.
class SeqFirstAttentionPattern : public RewritePattern {
 public:
  const char* name() const override { return "seq-first-attention"; }
  Expected<bool> matchAndRewrite(Op& out, Rewriter& rw) const override {
    if (out.kind() != OpKind::Reshape || !isTranspose(out.operand(0), {1, 0, 2}) || !hasSingleUse(out.operand(0)))
      return false;
    Op* pv = producerOf(out.operand(0)->definingOp()->operand(0), OpKind::MatMul);
    if (!pv || !hasSingleUse(pv->result())) return false;
    Op* softmax = producerOf(pv->operand(0), OpKind::Softmax);
    if (!softmax || !hasSingleUse(softmax->result())) return false;
    auto decline = [&](const std::string& why) {
      explainDecline(*softmax, "seq-first-attention", why);
      return false;
    };
    if (softmax->getInt("axis", -1) != -1 && softmax->getInt("axis", -1) != 2)
      return decline("the Softmax is not over the last axis");
    double scale = 1.0;
    ScoreMask mask;
    Value* scores = stripMask(softmax->operand(0), &scale, &mask);
    Op* qk = scores ? producerOf(scores, OpKind::MatMul) : nullptr;
    if (!qk || !hasSingleUse(qk->result()))
      return decline("its input is not Q·K^T (times scalars), plus an [S, T] or [1, S, T] mask");
    auto q = seqFirstHeads(stripScale(qk->operand(0), &scale), {1, 0, 2});
    auto k = seqFirstHeads(stripScale(qk->operand(1), &scale), {1, 2, 0});
    auto v = seqFirstHeads(pv->operand(1), {1, 0, 2});
    if (!q || !k || !v)
      return decline(str(!q ? "Q" : !k ? "K^T" : "V", " is not a per-head view Transpose(Reshape(P, [L, B·H, D])) ",
                         "of an [L, B, H·D] projection with H·D = E"));
    if (scale == 0.0 || !std::isfinite(scale)) return decline("the scale is 0 or not finite");
    if (q->heads != k->heads || q->heads != v->heads || q->head_dim != k->head_dim)
      return decline("Q, K and V have different head counts or sizes");
    Value *wq = nullptr, *wk = nullptr, *wv = nullptr;
    const int iq = chunkIndex(q->value, &wq), ik = chunkIndex(k->value, &wk), iv = chunkIndex(v->value, &wv);
    // Batches agree, and K and V have one length (seqFirstHeads checked these are known).
    auto sameBatch = [](const Proj& a, const Proj& b) { return sameRuntimeDim(a.dims_of, 1, b.dims_of, 1); };
    if (!sameBatch(*q, *k) || !sameBatch(*q, *v) || !sameDim(k->len, v->len))
      return decline("the batch of Q, K and V (or the length of K and V) are not provably equal");
    const int64_t e_out = v->heads * v->head_dim;
    if (!reshapesToSeqBatch(out, *q, e_out) && !reshapesToSymbolicSeqBatch(out, *q, e_out))
      return decline("the merged heads are not reshaped to [S·B, E]");
    if (mask.any()) {  // the scores are [B·H, S, T]: a mask may vary over S and T only
      const Value* m = mask.additive ? mask.additive : mask.cond;
      if (mask.additive2) return decline("two masks are added to the scores");
      const Type& mt = m->type();
      const DType dt = q->value->type().dtype;
      if ((mask.fill && mask.fill->type().dtype != dt) || !mt.shape.ranked ||
          (mt.shape.rank() == 3 && !(mt.shape.dims[0].isStatic() && mt.shape.dims[0].value == 1)) ||
          !maskBroadcasts(mt, dt, {Dim::of(1), q->len, k->len}, mask.cond != nullptr))
        return decline("the mask varies over more than S and T, or its static dims do not broadcast");
    }
    const bool fused = iq >= 0 && ik >= 0 && iv >= 0 && wq == wk && wq == wv && iq != ik && iq != iv && ik != iv;
    auto transposed = [&](Value* x) -> Expected<Value*> {
      DLC_ASSIGN_OR_RETURN(Op* t, rw.create(OpKind::Transpose, {x}, {{"perm", Attribute::ofInts({1, 0, 2})}}, 1,
                                            out.location()));
      return t->result();
    };
    std::vector<Value*> operands;
    if (fused) {
      DLC_ASSIGN_OR_RETURN(Value* all, transposed(wq));
      const int64_t e = q->heads * q->head_dim;
      Value* sizes = rw.constant(Tensor::fromVector<int64_t>(DType::I64, {3}, {e, e, e}));
      DLC_ASSIGN_OR_RETURN(Op* split, rw.create(OpKind::Split, {all, sizes}, {{"axis", Attribute::ofInt(-1)}}, 3,
                                                out.location()));
      operands = {split->result(iq), split->result(ik), split->result(iv)};
    } else {
      for (Value* x : {q->value, k->value, v->value}) {
        DLC_ASSIGN_OR_RETURN(Value* t, transposed(x));
        operands.push_back(t);
      }
    }
    std::map<std::string, Attribute> attrs = {{"num_heads", Attribute::ofInt(q->heads)},
                                              {"scale", Attribute::ofFloat(static_cast<float>(scale))}};
    if (mask.any()) {  // [S, T] or [1, S, T]: broadcast from the right over [B, H, S, T] alike
      DLC_ASSIGN_OR_RETURN(Value* m, maskOperand(mask, rw, out.location()));
      operands.push_back(m);
    }
    DLC_ASSIGN_OR_RETURN(Op* attn, rw.create(OpKind::Attention, operands, attrs, 1, out.location()));
    DLC_ASSIGN_OR_RETURN(Value* back, transposed(attn->result()));
    DLC_ASSIGN_OR_RETURN(Op* rs, rw.create(OpKind::Reshape, {back, out.operand(1)}, {}, 1, out.location()));
    rw.replaceOp(out, {rs->result()});
    return true;
  }
};

// Swin's shifted-window mask: the scores A [W, H, N, N] (W = batch·windows) are split to
// [W/nW, nW, H, N, N], the window mask M (static, broadcasting to that) added, and merged back:
// Reshape(Reshape(A, T5) + M, T4) with T4 giving A's shape back
//   ==>  A + Reshape(Expand(M, T5), T4)
// Two reshapes that keep the memory order and return to A's shape are the identity on A, and
// an elementwise Add commutes with them once M is expanded to the split shape. Only before a
// Softmax, so that the attention pattern then sees the scores plus one mask.
class WindowMaskPattern : public RewritePattern {
 public:
  const char* name() const override { return "window-mask"; }
  Expected<bool> matchAndRewrite(Op& merge, Rewriter& rw) const override {
    if (merge.kind() != OpKind::Reshape || merge.getInt("allowzero", 0) != 0 || !hasSingleUse(merge.result()) ||
        merge.result()->uses()[0].user->kind() != OpKind::Softmax)
      return false;
    Op* add = producerOf(merge.operand(0), OpKind::Add);
    if (!add || !hasSingleUse(add->result())) return false;
    for (int i = 0; i < 2; ++i) {
      Op* split = producerOf(add->operand(i), OpKind::Reshape);
      Value* m = add->operand(1 - i);
      if (!split || !hasSingleUse(split->result()) || split->getInt("allowzero", 0) != 0) continue;
      Value* a = split->operand(0);
      const Type& at = a->type();
      const Type& mt = m->type();
      if (!at.isTensor() || !at.shape.ranked || at.shape.rank() != 4 || !mt.isTensor() || !mt.shape.isStatic() ||
          mt.dtype != at.dtype || mt.shape.rank() > 5)
        continue;
      bool trailing_static = true;
      for (int d = 1; d < 4; ++d) trailing_static &= at.shape.dims[static_cast<size_t>(d)].isStatic();
      if (!trailing_static) continue;
      // T4 = [?, A's dims 1..3]: merged back to A's shape.
      auto t4 = evalScaled(merge.operand(1));
      if (!t4 || t4->size() != 4) continue;
      bool back = true;
      for (int d = 1; d < 4; ++d) back &= entryIs((*t4)[static_cast<size_t>(d)], at.shape.dims[static_cast<size_t>(d)], 1);
      if (!back) continue;
      // T5: positive constant entries where M is not 1 (M broadcasts to the split shape as is).
      Op* cat = producerOf(split->operand(1), OpKind::Concat);
      auto whole = constInts(split->operand(1));
      if (!whole && (!cat || cat->getInt("axis", 0) != 0)) continue;
      std::vector<std::optional<int64_t>> t5;
      bool ok = true;
      for (Value* part : whole ? std::vector<Value*>{split->operand(1)} : cat->operands()) {
        if (auto c = constInts(part)) {
          for (int64_t e : *c) {
            ok &= e > 0;
            t5.push_back(e);
          }
        } else if (part->type().isTensor() && part->type().shape.ranked && part->type().shape.rank() == 1 &&
                   part->type().shape.dims[0].isStatic() && part->type().shape.dims[0].value == 1) {
          t5.push_back(std::nullopt);
        } else {
          ok = false;
        }
      }
      if (!ok || t5.size() != 5) continue;
      const auto& md = mt.shape.dims;
      const size_t off = 5 - md.size();
      for (size_t d = 0; d < md.size() && ok; ++d)
        ok = md[d].value == 1 || (t5[off + d] && *t5[off + d] == md[d].value);
      if (!ok) continue;
      DLC_ASSIGN_OR_RETURN(Op* expand, rw.create(OpKind::Expand, {m, split->operand(1)}, {}, 1, add->location()));
      DLC_ASSIGN_OR_RETURN(Op* flat, rw.create(OpKind::Reshape, {expand->result(), merge.operand(1)}, {}, 1,
                                               merge.location()));
      DLC_ASSIGN_OR_RETURN(Op* sum, rw.create(OpKind::Add, {a, flat->result()}, {}, 1, merge.location()));
      rw.replaceOp(merge, {sum->result()});
      rw.eraseOp(*add);
      rw.eraseOp(*split);
      return true;
    }
    return false;
  }
};

class RecognizeAttention : public Pass {
 public:
  Status run(Graph& graph, const PassContext&) override {
    PatternList patterns;
    patterns.push_back(std::make_unique<WindowMaskPattern>());
    patterns.push_back(std::make_unique<AttentionPattern>());
    patterns.push_back(std::make_unique<SeqFirstAttentionPattern>());
    // Shape checks compare dims; a rewrite makes the types after it more precise (a symbolic batch
    // instead of '?', e.g. the next encoder layer's), so types are re-inferred after each sweep.
    for (int sweep = 0; sweep < 64; ++sweep) {
      DLC_ASSIGN_OR_RETURN(int n, applyPatternsGreedily(graph.body(), patterns, 1));
      if (n == 0) break;
      DLC_RETURN_IF_ERROR(inferRegionTypes(graph.body()));
    }
    return Status::success();
  }
};

}  // namespace

std::unique_ptr<Pass> createRecognizeAttentionPass() { return std::make_unique<RecognizeAttention>(); }

}  // namespace dlc::passes
