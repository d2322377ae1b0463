// Helpers shared by the cleanup passes: constants in any Constant form, shape facts, and the guard
// that keeps graph outputs intact when a value is replaced by another.
#pragma once

#include <optional>
#include <vector>

#include "ir/graph.h"
#include "passes/pattern.h"

namespace dlc::passes {

// The tensor a Constant op's result holds, whichever value attribute (value, value_float,
// value_ints, ...) it is spelled with; nullopt when `v` is not a defined constant.
std::optional<Tensor> constantTensor(const Value* v);
// The elements of a constant integer tensor (e.g. a shape or axes operand).
std::optional<std::vector<int64_t>> constantInts(const Value* v);
// True when the constant holds at least one element and every element equals `x`.
bool isSplatOf(const Value* v, double x);

// True when the op computes the same values every time it runs: no kSideEffects trait, and not a
// Dropout that may run in training mode (its mask is random). Pure ops may be folded and merged.
bool isPure(const Op& op);
// True when Dropout returns its input: training_mode absent or the constant false, or ratio the
// constant 0 (nothing dropped; torch exports F.dropout(p=0.0, training=...) in training mode).
bool isIdentityDropout(const Op& op);

// Ranked, and every dim static or symbolic: two such shapes that compare equal are equal at run
// time (a symbol stands for one size throughout the graph).
bool isFullyKnown(const Shape& s);
// `a` and `b` are tensors whose known shapes and dtypes are identical.
bool sameKnownTensorType(const Type& a, const Type& b);

// True when every use of `old` may be redirected to `repl`: a region output must end up produced
// by an op of that same region that is not already an output, so replaceOp can keep the output's
// name without renaming another output or exposing a graph input (or a captured value) under it.
bool canReplaceValue(const Value* old, const Value* repl);

// Erases `op` (an operand producer a rewrite bypassed) when it is now dead and pure, and lives in
// `region` (the rewritten op's region, which the driver is sweeping), so cancelled pairs go at once.
void eraseIfDead(Op* op, const Region* region, Rewriter& rw);
// Erases the Constant ops among the producers of `values` (a replaced op's operands) that are dead.
void eraseDeadConstants(const std::vector<Value*>& values, const Region* region, Rewriter& rw);

// Perm of a Transpose op (its attribute, or the reversed axes when absent and the rank is known).
std::optional<std::vector<int64_t>> transposePerm(const Op& transpose);

}  // namespace dlc::passes
