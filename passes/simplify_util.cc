// Helpers shared by the cleanup passes (see simplify_util.h).
#include <algorithm>

#include "ir/constant_value.h"
#include "passes/simplify_util.h"

namespace dlc::passes {

std::optional<Tensor> constantTensor(const Value* v) {
  if (!v || !v->definingOp() || v->definingOp()->kind() != OpKind::Constant) return std::nullopt;
  auto value = constantOpValue(*v->definingOp());
  return value.ok() ? std::optional<Tensor>(std::move(value).value()) : std::nullopt;
}

std::optional<std::vector<int64_t>> constantInts(const Value* v) {
  std::optional<Tensor> t = constantTensor(v);
  if (!t || !isInteger(t->dtype()) || t->dtype() == DType::I4 || t->dtype() == DType::U4) return std::nullopt;
  return t->toInt64Vector();
}

bool isSplatOf(const Value* v, double x) {
  std::optional<Tensor> t = constantTensor(v);
  if (!t || t->numel() == 0) return false;
  DType d = t->dtype();
  if (d == DType::String || d == DType::I4 || d == DType::U4 || d == DType::Undefined) return false;
  for (int64_t i = 0; i < t->numel(); ++i)
    if (t->getDouble(i) != x) return false;
  return true;
}

bool isIdentityDropout(const Op& op) {
  if (op.kind() != OpKind::Dropout) return false;
  const Value* training = op.operand(2);
  if (!training) return true;
  std::optional<Tensor> t = constantTensor(training);
  if (t && t->dtype() == DType::Bool && t->numel() == 1 && t->getDouble(0) == 0.0) return true;
  // Training mode with ratio 0 drops nothing (torch exports F.dropout(p=0.0, training=...) so).
  std::optional<Tensor> ratio = op.operand(1) ? constantTensor(op.operand(1)) : std::nullopt;
  return ratio && isFloat(ratio->dtype()) && ratio->numel() == 1 && ratio->getDouble(0) == 0.0;
}

bool isPure(const Op& op) {
  if (op.info().has(kSideEffects)) return false;
  return op.kind() != OpKind::Dropout || isIdentityDropout(op);
}

bool isFullyKnown(const Shape& s) {
  if (!s.ranked) return false;
  for (const Dim& d : s.dims)
    if (!d.isStatic() && !d.isSymbolic()) return false;
  return true;
}

bool sameKnownTensorType(const Type& a, const Type& b) {
  return a.isTensor() && b.isTensor() && a.dtype == b.dtype && a.dtype != DType::Undefined &&
         isFullyKnown(a.shape) && a.shape == b.shape;
}

bool canReplaceValue(const Value* old, const Value* repl) {
  if (!old || !repl || old == repl) return false;
  for (const Use& u : old->uses()) {
    if (u.user) continue;
    // `old` is output u.index of region u.region.
    const Op* def = repl->definingOp();
    if (!def || def->parent() != u.region) return false;
    for (const Use& ru : repl->uses())
      if (!ru.user) return false;
  }
  return true;
}

void eraseIfDead(Op* op, const Region* region, Rewriter& rw) {
  if (!op || op->parent() != region || op->info().has(kSideEffects)) return;
  for (int i = 0; i < op->numResults(); ++i)
    if (op->result(i)->hasUses()) return;
  std::vector<Value*> operands = op->operands();
  rw.eraseOp(*op);
  eraseDeadConstants(operands, region, rw);
}

void eraseDeadConstants(const std::vector<Value*>& values, const Region* region, Rewriter& rw) {
  // One constant may be several operands (Slice(x, c, c) in ONNX's nllloss tests): each is found
  // once before any is erased, since an erased constant's value is freed with it.
  std::vector<Op*> dead;
  for (Value* v : values) {
    Op* def = v ? v->definingOp() : nullptr;
    if (def && def->kind() == OpKind::Constant && def->parent() == region && !def->result(0)->hasUses() &&
        std::find(dead.begin(), dead.end(), def) == dead.end())
      dead.push_back(def);
  }
  for (Op* def : dead) rw.eraseOp(*def);
}

std::optional<std::vector<int64_t>> transposePerm(const Op& transpose) {
  if (transpose.hasAttr("perm")) return transpose.getInts("perm");
  const Value* x = transpose.operand(0);
  if (!x || !x->type().isTensor() || !x->type().shape.ranked) return std::nullopt;
  std::vector<int64_t> perm;
  for (int i = x->type().shape.rank() - 1; i >= 0; --i) perm.push_back(i);
  return perm;
}

}  // namespace dlc::passes
