// Shape expressions: the shape operands exporters compute at run time (torch's
// `x.reshape(n, s, ...)` with n, s read from x.shape) evaluated into dims, so patterns can check a
// Reshape is the one they expect even when dims are symbolic.
#pragma once

#include <optional>
#include <vector>

#include "ir/graph.h"
#include "passes/pattern.h"

namespace dlc::passes {

using Dims = std::vector<Dim>;

inline bool known(const Dim& d) { return d.isStatic() || d.isSymbolic(); }
inline bool sameDim(const Dim& a, const Dim& b) { return known(a) && a == b; }

// The integer values of a constant, if it is one.
std::optional<std::vector<int64_t>> constInts(const Value* v);

// Evaluates a shape operand built from constants and Shape/Gather/Unsqueeze/Concat/Cast of known
// types into dims. Raw entries 0 and -1 of Reshape come back as Dim::of(0) and Dim::unknown().
std::optional<Dims> evalShape(Value* v, int depth = 0);

// True when `reshape` (of `in`) produces exactly `want` (known dims, or 0-copies of in's dims).
bool reshapesTo(const Op& reshape, const Dims& want);

// A shape entry k·d: a known dim d (static or symbolic) times a static factor k. Static entries
// are {Dim::of(n), 1}; Reshape's raw -1 comes back as {Dim::unknown(), 1}.
struct Scaled {
  Dim dim;
  int64_t factor = 1;
  Value* src = nullptr;  // d is dim `axis` of src's run-time shape (Gather(Shape(src), axis))
  int axis = -1;
};

// True when entry `e` provably equals k·d: both static with equal values, or e = k·d symbolically.
bool entryIs(const Scaled& e, const Dim& d, int64_t k);

// True when dim `axis` of `a` provably equals dim `b_axis` of `b` at run time, even when the types
// do not say it (through Transpose, rank-2 MatMul weights, bias adds, last-axis Slices).
bool sameRuntimeDim(Value* a, int axis, Value* b, int b_axis, int depth = 0);

// True when entry `e` is provably k times dim `axis` of `p` (by type, or by run-time provenance).
bool entryIsDimOf(const Scaled& e, Value* p, int axis, int64_t k);

// Like evalShape, but also evaluates products of one symbolic entry with static ones (B·H).
std::optional<std::vector<Scaled>> evalScaled(Value* v, int depth = 0);

}  // namespace dlc::passes
