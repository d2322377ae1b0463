// Masked weights for fine-tuning (mask.h).
#include "passes/prune/mask.h"

#include <set>

#include "ir/builder.h"
#include "passes/pattern.h"

namespace dlc::prune {

Expected<std::vector<std::string>> insertMasks(Graph& g, const std::vector<std::string>& weights) {
  const std::set<std::string> wanted(weights.begin(), weights.end());
  std::vector<std::string> masks;
  std::vector<Op*> constants;
  for (const auto& op : g.body().ops())
    if (op->kind() == OpKind::Constant && wanted.count(op->result()->name())) constants.push_back(op.get());
  for (Op* c : constants) {
    Value* w = c->result();
    const Tensor* t = passes::constantValue(w);
    if (!t || t->dtype() != DType::F32) return Status::error(str("pruned weight '", w->name(), "' is not an f32 constant"));
    Tensor m(DType::F32, t->shape());
    for (int64_t i = 0; i < t->numel(); ++i) m.data<float>()[i] = t->data<float>()[i] != 0.0f ? 1.0f : 0.0f;
    const std::vector<Use> uses = w->uses();
    std::set<const Op*> users;
    for (const Use& u : uses) users.insert(u.user);
    Op* first_user = nullptr;  // the Mul goes before it
    for (const auto& op : g.body().ops())
      if (users.count(op.get())) {
        first_user = op.get();
        break;
      }
    if (!first_user) continue;  // read only by nested regions or outputs: nothing trains through it here
    Builder b(g.body());
    b.setInsertionPoint(first_user);
    Value* mask = b.constant(m, w->name() + "_mask");
    DLC_ASSIGN_OR_RETURN(Op* mul, b.create(OpKind::Mul, {w, mask}, {}, 1, w->name() + "_masked"));
    mul->result()->setName(w->name() + "_masked");
    for (const Use& u : uses)
      if (u.user && !u.region) u.user->setOperand(u.index, mul->result());
    masks.push_back(mask->name());
  }
  return masks;
}

Status foldMasks(Graph& g, const std::vector<std::string>& masks) {
  const std::set<std::string> names(masks.begin(), masks.end());
  std::vector<Op*> muls;
  for (const auto& op : g.body().ops())
    if (op->kind() == OpKind::Mul && op->operand(1) && names.count(op->operand(1)->name())) muls.push_back(op.get());
  for (Op* mul : muls) {
    const Tensor* w = passes::constantValue(mul->operand(0));
    const Tensor* m = passes::constantValue(mul->operand(1));
    if (!w || !m || w->numel() != m->numel()) return Status::error(str("mask '", mul->operand(1)->name(), "' lost its weight"));
    Tensor folded(DType::F32, w->shape());
    for (int64_t i = 0; i < w->numel(); ++i) folded.data<float>()[i] = m->data<float>()[i] != 0.0f ? w->data<float>()[i] : 0.0f;
    Builder b(g.body());
    b.setInsertionPoint(mul);
    const std::string name = mul->operand(0)->name();
    Value* v = b.constant(folded, name + "_finetuned");
    mul->result()->replaceAllUsesWith(v);
  }
  return Status::success();
}

}  // namespace dlc::prune
