// Small helpers shared by the tensor, sequence and control-flow inference rules.
#pragma once

#include <cstdint>
#include <optional>
#include <vector>

#include "ir/infer/infer.h"
#include "ir/tensor.h"

namespace dlc::infer::util {

// The type of input i, which must be present and a tensor.
inline Status tensorInput(InferContext& ctx, int i, const Type** out) {
  const Type* t = ctx.inputType(i);
  if (!t) return ctx.error(str("input ", i, " is missing"));
  if (!t->isTensor()) return ctx.error(str("input ", i, " must be a tensor, got ", t->toString()));
  *out = t;
  return Status::success();
}

// The integer values of input i when it is a compile-time constant.
inline bool constInts(InferContext& ctx, int i, std::vector<int64_t>* out) {
  const Tensor* t = ctx.constantInput(i);
  if (!t || t->dtype() == DType::String || !t->defined()) return false;
  *out = t->toInt64Vector();
  return true;
}

// The number of elements of a 1-D input when its length is static (e.g. a shape operand), else -1.
inline int64_t staticLength(InferContext& ctx, int i) {
  const Type* t = ctx.inputType(i);
  if (!t || !t->isTensor() || !t->shape.ranked) return -1;
  if (t->shape.rank() == 0) return 1;
  if (t->shape.rank() != 1 || !t->shape.dims[0].isStatic()) return -1;
  return t->shape.dims[0].value;
}

// The dim a scalar (or one-element) integer value holds when it is read off a type:
// Gather(Shape(y), i), possibly Unsqueezed, is y's dim i (symbolic ones included); else unknown.
Dim dimOfScalar(const Value* v);
// The dims a 1-D shape value holds: Shape(y) is y's dims; a Concat of constants and
// dimOfScalar parts is those entries (negative constants unknown). Nullopt otherwise.
std::optional<std::vector<Dim>> dimsOfShapeValue(const Value* v);

// Product of dims: static when all are, the one non-static dim when the rest multiply to 1, else ?.
inline Dim dimProduct(const std::vector<Dim>& dims) {
  int64_t n = 1;
  const Dim* only = nullptr;
  int non_static = 0;
  for (const Dim& d : dims) {
    if (d.isStatic()) {
      if (__builtin_mul_overflow(n, d.value, &n)) return Dim::unknown();  // no real tensor has 2^63 elements
    } else {
      ++non_static;
      only = &d;
    }
  }
  if (non_static == 0) return Dim::of(n);
  if (n == 0) return Dim::of(0);
  if (non_static == 1 && n == 1) return *only;
  return Dim::unknown();
}

// Two descriptions of one dim (e.g. from two If branches): keep what both agree on.
inline Dim mergeDim(const Dim& a, const Dim& b) { return a == b ? a : Dim::unknown(); }

inline Shape mergeShape(const Shape& a, const Shape& b) {
  if (!a.ranked || !b.ranked || a.rank() != b.rank()) return Shape::unranked();
  Shape s;
  for (int i = 0; i < a.rank(); ++i) s.dims.push_back(mergeDim(a.dims[static_cast<size_t>(i)], b.dims[static_cast<size_t>(i)]));
  return s;
}

// The common type of two values that flow into one place; false when the kinds or dtypes differ.
inline bool mergeType(const Type& a, const Type& b, Type* out) {
  if (a.kind != b.kind) return false;
  if (a.isTensor()) {
    if (a.dtype != b.dtype) return false;
    *out = Type::tensor(a.dtype, mergeShape(a.shape, b.shape));
    return true;
  }
  if (!a.element || !b.element) {
    *out = a;
    return true;
  }
  Type e;
  if (!mergeType(*a.element, *b.element, &e)) return false;
  *out = a.isSequence() ? Type::sequence(e) : Type::optional(e);
  return true;
}

// Two dims that must be equal (Concat's non-axis dims): prefer the most specific.
inline bool unifyDim(const Dim& a, const Dim& b, Dim* out) {
  if (a.isStatic() && b.isStatic()) {
    *out = a;
    return a.value == b.value;
  }
  *out = a.isStatic() ? a : b.isStatic() ? b : (a == b ? a : (a.isSymbolic() ? a : b));
  return true;
}

// A ranked shape of `rank` unknown dims.
inline Shape unknownDims(int rank) { return Shape(std::vector<Dim>(static_cast<size_t>(rank), Dim::unknown())); }

}  // namespace dlc::infer::util
