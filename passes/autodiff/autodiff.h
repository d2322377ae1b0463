// Reverse-mode automatic differentiation over the IR: the gradient of one value with respect to
// others, appended to the graph as ordinary ops built from the per-op rule table (gradients.def).
#pragma once

#include <vector>

#include "ir/graph.h"
#include "ir/status.h"

namespace dlc::autodiff {

// Adds to y's region, before `before` (at the region's end when null), the ops that compute the
// gradient of Σ(seed ⊙ y) with respect to each value of `xs` (region arguments, constants or any
// intermediate value of that region: gradients with respect to inputs and inner activations are
// the same thing). `seed` null means ones, so a scalar y gives dy/dx. A value y does not depend on
// gets zeros of its type. Ops with a decomposition rule (recurrent layers, dlc's fused ops) on the
// path are first rewritten in place into ops that have rules. Every op on the path without a rule
// is listed in one error, with its location.
Expected<std::vector<Value*>> gradients(Value* y, Value* seed, const std::vector<Value*>& xs, Op* before = nullptr);

// True when gradients flow through values of this dtype (the float types).
bool isDifferentiableType(const Type& t);

}  // namespace dlc::autodiff
