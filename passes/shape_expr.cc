// Shape expressions: evaluating the shape operands exporters compute at run time
// (Shape -> Gather -> Unsqueeze -> Concat, with arithmetic) into dims, and proving run-time dims equal.
#include "passes/shape_expr.h"

#include <algorithm>

namespace dlc::passes {

std::optional<std::vector<int64_t>> constInts(const Value* v) {
  const Tensor* t = constantValue(v);
  if (!t || !t->defined() || t->dtype() == DType::String || isFloat(t->dtype())) return std::nullopt;
  return t->toInt64Vector();
}

// Evaluates a shape operand built from constants and Shape/Gather/Unsqueeze/Concat/Cast of known
// types (PyTorch's `x.reshape(n, s, ...)` with n, s taken from x.shape) into dims. Raw entries 0
// and -1 of Reshape come back as Dim::of(0) and Dim::unknown().
std::optional<Dims> evalShape(Value* v, int depth) {
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


// True when entry `e` provably equals k·d: both static with equal values, or e = k·d symbolically.
bool entryIs(const Scaled& e, const Dim& d, int64_t k) {
  if (e.dim.isStatic() && d.isStatic()) return e.dim.value * e.factor == d.value * k;
  return e.factor == k && sameDim(e.dim, d);
}

// True when dim `axis` of `a` provably equals dim `b_axis` of `b` at run time, even when the types
// do not say it (a '?' batch after a computed reshape): by identity, through Transpose (perm),
// a [.., M, K]·[K, N] MatMul (rank-3 lhs, axes 0, 1), an Add/Mul of a rank-1 bias (axes < rank-1),
// and a Slice of the last axis; else when both types give the same known dim.
bool sameRuntimeDim(Value* a, int axis, Value* b, int b_axis, int depth) {
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
std::optional<std::vector<Scaled>> evalScaled(Value* v, int depth) {
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

}  // namespace dlc::passes
