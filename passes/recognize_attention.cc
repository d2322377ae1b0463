// Recognizes scaled-dot-product attention (per-head Reshape/Transpose/MatMul/Softmax) as dlc Attention.
#include <algorithm>
#include <cmath>
#include <optional>

#include "ir/infer/infer.h"
#include "passes/pass.h"
#include "passes/pattern.h"

namespace dlc::passes {
namespace {

using Dims = std::vector<Dim>;

bool known(const Dim& d) { return d.isStatic() || d.isSymbolic(); }
bool sameDim(const Dim& a, const Dim& b) { return known(a) && a == b; }

// The integer values of a constant, if it is one.
std::optional<std::vector<int64_t>> constInts(const Value* v) {
  const Tensor* t = constantValue(v);
  if (!t || !t->defined() || t->dtype() == DType::String || isFloat(t->dtype())) return std::nullopt;
  return t->toInt64Vector();
}

// Evaluates a shape operand built from constants and Shape/Gather/Unsqueeze/Concat/Cast of known
// types (PyTorch's `x.reshape(n, s, ...)` with n, s taken from x.shape) into dims. Raw entries 0
// and -1 of Reshape come back as Dim::of(0) and Dim::unknown().
std::optional<Dims> evalShape(Value* v, int depth = 0) {
  if (!v || depth > 8) return std::nullopt;
  if (auto c = constInts(v)) {
    Dims d;
    for (int64_t x : *c) d.push_back(x >= 0 ? Dim::of(x) : Dim::unknown());
    return d;
  }
  Op* op = v->definingOp();
  if (!op || v->index() != 0) return std::nullopt;
  switch (op->kind()) {
    case OpKind::Shape: {
      const Type& t = op->operand(0)->type();
      if (!t.isTensor() || !t.shape.ranked || op->hasAttr("start") || op->hasAttr("end")) return std::nullopt;
      return t.shape.dims;
    }
    case OpKind::Gather: {
      auto src = evalShape(op->operand(0), depth + 1);
      auto idx = constInts(op->operand(1));
      if (!src || !idx || op->getInt("axis", 0) != 0) return std::nullopt;
      Dims d;
      const int64_t n = static_cast<int64_t>(src->size());
      for (int64_t i : *idx) {
        if (i < -n || i >= n) return std::nullopt;
        d.push_back((*src)[static_cast<size_t>(i < 0 ? i + n : i)]);
      }
      return d;
    }
    case OpKind::Unsqueeze:
    case OpKind::Squeeze:
    case OpKind::Cast:
    case OpKind::Identity: return evalShape(op->operand(0), depth + 1);
    case OpKind::Add:
    case OpKind::Sub:
    case OpKind::Mul:
    case OpKind::Div: {  // shape arithmetic (torch's chunk sizes), static values only
      auto a = evalShape(op->operand(0), depth + 1);
      auto b = evalShape(op->operand(1), depth + 1);
      if (!a || !b || (a->size() != b->size() && a->size() > 1 && b->size() > 1)) return std::nullopt;
      Dims d;
      for (size_t i = 0; i < std::max(a->size(), b->size()); ++i) {
        const Dim& x = (*a)[a->size() == 1 ? 0 : i];
        const Dim& y = (*b)[b->size() == 1 ? 0 : i];
        if (!x.isStatic() || !y.isStatic()) return std::nullopt;
        int64_t r = 0;
        switch (op->kind()) {
          case OpKind::Add: r = x.value + y.value; break;
          case OpKind::Sub: r = x.value - y.value; break;
          case OpKind::Mul: r = x.value * y.value; break;
          default:
            if (y.value == 0) return std::nullopt;
            r = x.value / y.value;
        }
        if (r < 0) return std::nullopt;
        d.push_back(Dim::of(r));
      }
      return d;
    }
    case OpKind::Concat: {
      Dims d;
      for (Value* in : op->operands()) {
        auto part = evalShape(in, depth + 1);
        if (!part) return std::nullopt;
        d.insert(d.end(), part->begin(), part->end());
      }
      return d;
    }
    default: return std::nullopt;
  }
}

// True when `reshape` (of `in`) produces exactly `want` (known dims, or 0-copies of in's dims).
bool reshapesTo(const Op& reshape, const Dims& want) {
  if (reshape.getInt("allowzero", 0) != 0) return false;
  const Dims& in = reshape.operand(0)->type().shape.dims;
  auto target = evalShape(reshape.operand(1));
  if (!target || target->size() != want.size()) return false;
  int inferred = 0;
  for (size_t i = 0; i < want.size(); ++i) {
    Dim t = (*target)[i];
    if (t.isStatic() && t.value == 0) {
      if (i >= in.size()) return false;
      t = in[i];
    }
    if (!known(t)) {
      ++inferred;  // -1: the one dim left once the others match
      continue;
    }
    if (!sameDim(t, want[i])) return false;
  }
  return inferred <= 1;
}

// A shape entry k·d: a known dim d (static or symbolic) times a static factor k. Static entries
// are {Dim::of(n), 1}; Reshape's raw -1 comes back as {Dim::unknown(), 1}.
struct Scaled {
  Dim dim;
  int64_t factor = 1;
  Value* src = nullptr;  // d is dim `axis` of src's run-time shape (Gather(Shape(src), axis))
  int axis = -1;
};

// True when entry `e` provably equals k·d: both static with equal values, or e = k·d symbolically.
bool entryIs(const Scaled& e, const Dim& d, int64_t k) {
  if (e.dim.isStatic() && d.isStatic()) return e.dim.value * e.factor == d.value * k;
  return e.factor == k && sameDim(e.dim, d);
}

// True when dim `axis` of `a` provably equals dim `b_axis` of `b` at run time, even when the types
// do not say it (a '?' batch after a computed reshape): by identity, through Transpose (perm),
// a [.., M, K]·[K, N] MatMul (rank-3 lhs, axes 0, 1), an Add/Mul of a rank-1 bias (axes < rank-1),
// and a Slice of the last axis; else when both types give the same known dim.
bool sameRuntimeDim(Value* a, int axis, Value* b, int b_axis, int depth = 0) {
  if (!a || !b || depth > 8) return false;
  if (a == b && axis == b_axis) return true;
  const Type& ta = a->type();
  const Type& tb = b->type();
  if (ta.isTensor() && tb.isTensor() && ta.shape.ranked && tb.shape.ranked && axis < ta.shape.rank() &&
      b_axis < tb.shape.rank() &&
      sameDim(ta.shape.dims[static_cast<size_t>(axis)], tb.shape.dims[static_cast<size_t>(b_axis)]))
    return true;
  Op* op = a->definingOp();
  if (!op || a->index() != 0 || !ta.isTensor() || !ta.shape.ranked) return false;
  const int rank = ta.shape.rank();
  auto rankOf = [](Value* v) { return v && v->type().isTensor() && v->type().shape.ranked ? v->type().shape.rank() : -1; };
  switch (op->kind()) {
    case OpKind::Transpose: {
      auto perm = op->getInts("perm");
      if (static_cast<int>(perm.size()) != rank) return false;
      return sameRuntimeDim(op->operand(0), static_cast<int>(perm[static_cast<size_t>(axis)]), b, b_axis, depth + 1);
    }
    case OpKind::MatMul:
      if (rankOf(op->operand(0)) != 3 || rankOf(op->operand(1)) != 2 || axis > 1) return false;
      return sameRuntimeDim(op->operand(0), axis, b, b_axis, depth + 1);
    case OpKind::Add:
    case OpKind::Mul:
      for (int i = 0; i < 2; ++i)
        if (rankOf(op->operand(i)) == rank && rankOf(op->operand(1 - i)) == 1 && axis < rank - 1)
          return sameRuntimeDim(op->operand(i), axis, b, b_axis, depth + 1);
      return false;
    case OpKind::Slice: {
      auto axes = op->operand(3) ? constInts(op->operand(3)) : std::nullopt;
      if (!axes || axes->size() != 1 || ((*axes)[0] != -1 && (*axes)[0] != rank - 1) || axis == rank - 1) return false;
      return sameRuntimeDim(op->operand(0), axis, b, b_axis, depth + 1);
    }
    default: return false;
  }
}

// True when entry `e` is provably k times dim `axis` of `p` (by type, or by run-time provenance).
bool entryIsDimOf(const Scaled& e, Value* p, int axis, int64_t k) {
  const Dim& d = p->type().shape.dims[static_cast<size_t>(axis)];
  if (entryIs(e, d, k)) return true;
  return e.factor == k && e.src && sameRuntimeDim(p, axis, e.src, e.axis);
}

// Like evalShape, but also evaluates products of one symbolic entry with static ones, as torch
// computes B·H for the seq-first head split: Mul(Gather(Shape(x), 1), H) evaluates to {B, H}
// when x's dim 1 is B. Concat/Unsqueeze/Squeeze/Cast/Identity pass entries through.
std::optional<std::vector<Scaled>> evalScaled(Value* v, int depth = 0) {
  if (!v || depth > 8) return std::nullopt;
  if (Op* g = producerOf(v, OpKind::Gather); g && g->getInt("axis", 0) == 0) {  // Gather(Shape(src), i)
    Op* sh = producerOf(g->operand(0), OpKind::Shape);
    auto idx = constInts(g->operand(1));
    if (sh && !sh->hasAttr("start") && !sh->hasAttr("end") && idx && idx->size() == 1) {
      const Type& t = sh->operand(0)->type();
      const int64_t i = (*idx)[0], n = t.isTensor() && t.shape.ranked ? t.shape.rank() : 0;
      if (n > 0 && i >= -n && i < n) {
        const int a = static_cast<int>(i < 0 ? i + n : i);
        const Dim& d = t.shape.dims[static_cast<size_t>(a)];
        return std::vector<Scaled>{{d, 1, d.isStatic() ? nullptr : sh->operand(0), a}};
      }
    }
  }
  if (auto d = evalShape(v)) {
    std::vector<Scaled> r;
    for (const Dim& x : *d) r.push_back({x, 1});
    return r;
  }
  Op* op = v->definingOp();
  if (!op || v->index() != 0) return std::nullopt;
  switch (op->kind()) {
    case OpKind::Unsqueeze:
    case OpKind::Squeeze:
    case OpKind::Cast:
    case OpKind::Identity: return evalScaled(op->operand(0), depth + 1);
    case OpKind::Mul: {  // (k·d)·n = (k·n)·d for one single-entry operand statically n
      auto a = evalScaled(op->operand(0), depth + 1);
      auto b = evalScaled(op->operand(1), depth + 1);
      if (!a || !b || a->size() != 1 || b->size() != 1) return std::nullopt;
      Scaled x = (*a)[0], y = (*b)[0];
      if (x.dim.isStatic()) std::swap(x, y);
      if (!y.dim.isStatic() || (!known(x.dim) && !x.src)) return std::nullopt;
      const int64_t n = y.dim.value * y.factor;
      if (n <= 0 || x.factor <= 0) return std::nullopt;
      return std::vector<Scaled>{{x.dim, x.factor * n, x.src, x.axis}};
    }
    case OpKind::Concat: {
      std::vector<Scaled> r;
      for (Value* in : op->operands()) {
        auto part = evalScaled(in, depth + 1);
        if (!part) return std::nullopt;
        r.insert(r.end(), part->begin(), part->end());
      }
      return r;
    }
    default: return std::nullopt;
  }
}

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
};

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
  if (!hasSingleUse(v)) return std::nullopt;
  Op* tr = producerOf(v, OpKind::Transpose);
  if (transposed) {
    if (!tr) return std::nullopt;
    if (tr->getInts("perm") == std::vector<int64_t>{0, 1, 3, 2}) return headSource(tr->operand(0), false);
    if (tr->getInts("perm") != std::vector<int64_t>{0, 2, 3, 1}) return std::nullopt;
  }
  Proj p;
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

// Reshape(Transpose(MatMul(Softmax(Q_h K_h^T · c [+ M]), V_h), [0,2,1,3]), [B,S,H*Dv])
//   ==>  Attention(Q, K, V[, M]) {num_heads = H, scale = c}
// where Q_h, K_h, V_h are the per-head views of projections Q [B,S,H*D], K [B,T,H*D], V [B,T,H*Dv]
// (slices of one fused [B,S,3·H*D] projection are split with one Split on the last axis).
class AttentionPattern : public RewritePattern {
 public:
  const char* name() const override { return "attention"; }
  Expected<bool> matchAndRewrite(Op& out, Rewriter& rw) const override {
    if (out.kind() != OpKind::Reshape || !isTranspose(out.operand(0), {0, 2, 1, 3}) || !hasSingleUse(out.operand(0)))
      return false;
    Op* pv = producerOf(out.operand(0)->definingOp()->operand(0), OpKind::MatMul);
    if (!pv || !hasSingleUse(pv->result())) return false;
    Op* softmax = producerOf(pv->operand(0), OpKind::Softmax);
    if (!softmax || !hasSingleUse(softmax->result())) return false;
    const int64_t sm_axis = softmax->getInt("axis", -1);
    if (sm_axis != -1 && sm_axis != 3) return false;
    double scale = 1.0;
    Value* s = stripScale(softmax->operand(0), &scale);
    Value* mask = nullptr;
    if (Op* add = producerOf(s, OpKind::Add); add && hasSingleUse(s)) {
      for (int i = 0; i < 2 && !mask; ++i) {
        double inner = 1.0;
        if (producerOf(stripScale(add->operand(i), &inner), OpKind::MatMul)) {
          s = stripScale(add->operand(i), &scale);
          mask = add->operand(1 - i);
        }
      }
      if (!mask) return false;
    }
    Op* qk = producerOf(s, OpKind::MatMul);
    if (!qk || !hasSingleUse(s)) return false;
    auto q = headSource(stripScale(qk->operand(0), &scale), false);
    auto k = headSource(stripScale(qk->operand(1), &scale), true);
    auto v = headSource(pv->operand(1), false);
    if (!q || !k || !v || scale == 0.0 || !std::isfinite(scale)) return false;
    if (q->heads != k->heads || q->heads != v->heads || q->head_dim != k->head_dim) return false;
    const bool fused = q->split_index >= 0;
    if (fused != (k->split_index >= 0) || fused != (v->split_index >= 0)) return false;
    if (fused && (q->value != k->value || q->value != v->value || q->split_index == k->split_index ||
                  q->split_index == v->split_index || k->split_index == v->split_index))
      return false;
    const Type& qt = q->value->type();
    const Type& kt = k->value->type();
    const Type& vt = v->value->type();
    if (qt.dtype != kt.dtype || qt.dtype != vt.dtype || !isFloat(qt.dtype)) return false;
    const Dim B = qt.shape.dims[0], S = qt.shape.dims[1];
    // Batch and key lengths agree: provably (one fused projection, or equal known dims).
    auto agree = [](Value* a, Value* b, int i) {
      return a == b || sameDim(a->type().shape.dims[static_cast<size_t>(i)], b->type().shape.dims[static_cast<size_t>(i)]);
    };
    if (!agree(q->value, k->value, 0) || !agree(q->value, v->value, 0) || !agree(k->value, v->value, 1)) return false;
    if (!reshapesTo(out, {B, S, Dim::of(v->heads * v->head_dim)})) return false;
    if (mask) {
      const Type& mt = mask->type();
      if (!mt.isTensor() || mt.dtype != qt.dtype || !mt.shape.ranked || mt.shape.rank() > 4) return false;
      const Dims full = {B, Dim::of(q->heads), S, kt.shape.dims[1]};
      const int off = 4 - mt.shape.rank();
      for (int i = 0; i < mt.shape.rank(); ++i) {
        const Dim& d = mt.shape.dims[static_cast<size_t>(i)];
        if (!(d.isStatic() && d.value == 1) && !sameDim(d, full[static_cast<size_t>(off + i)])) return false;
      }
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
    if (mask) operands.push_back(mask);
    std::map<std::string, Attribute> attrs = {{"num_heads", Attribute::ofInt(q->heads)},
                                              {"scale", Attribute::ofFloat(static_cast<float>(scale))}};
    DLC_ASSIGN_OR_RETURN(Op* attn, rw.create(OpKind::Attention, operands, attrs, 1, out.location()));
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

// Seq-first multi-head attention (torch 1.13's F.multi_head_attention_forward; static or symbolic
// batch):
// Reshape(Transpose(MatMul(Softmax(Q_h·c K_h^T), V_h), [1,0,2]), [S·B, E]) with Q_h = Transpose(
// Reshape(Q, [S, B·H, D]), [1,0,2]), K_h^T likewise with perm [1,2,0], Q/K/V [L, B, E]
//   ==>  Reshape(Transpose(Attention(Q^T, K^T, V^T) {num_heads = H, scale = c}, [1,0,2]), [S·B, E])
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
    if (softmax->getInt("axis", -1) != -1 && softmax->getInt("axis", -1) != 2) return false;
    double scale = 1.0;
    Op* qk = producerOf(stripScale(softmax->operand(0), &scale), OpKind::MatMul);
    if (!qk || !hasSingleUse(qk->result())) return false;
    auto q = seqFirstHeads(stripScale(qk->operand(0), &scale), {1, 0, 2});
    auto k = seqFirstHeads(stripScale(qk->operand(1), &scale), {1, 2, 0});
    auto v = seqFirstHeads(pv->operand(1), {1, 0, 2});
    if (!q || !k || !v || scale == 0.0 || !std::isfinite(scale)) return false;
    if (q->heads != k->heads || q->heads != v->heads || q->head_dim != k->head_dim) return false;
    Value *wq = nullptr, *wk = nullptr, *wv = nullptr;
    const int iq = chunkIndex(q->value, &wq), ik = chunkIndex(k->value, &wk), iv = chunkIndex(v->value, &wv);
    // Batches agree, and K and V have one length (seqFirstHeads checked these are known).
    auto sameBatch = [](const Proj& a, const Proj& b) { return sameRuntimeDim(a.dims_of, 1, b.dims_of, 1); };
    if (!sameBatch(*q, *k) || !sameBatch(*q, *v) || !sameDim(k->len, v->len)) return false;
    const int64_t e_out = v->heads * v->head_dim;
    if (!reshapesToSeqBatch(out, *q, e_out)) return false;
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
    DLC_ASSIGN_OR_RETURN(Op* attn, rw.create(OpKind::Attention, operands, attrs, 1, out.location()));
    DLC_ASSIGN_OR_RETURN(Value* back, transposed(attn->result()));
    DLC_ASSIGN_OR_RETURN(Op* rs, rw.create(OpKind::Reshape, {back, out.operand(1)}, {}, 1, out.location()));
    rw.replaceOp(out, {rs->result()});
    return true;
  }
};

class RecognizeAttention : public Pass {
 public:
  Status run(Graph& graph, const PassContext&) override {
    PatternList patterns;
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
