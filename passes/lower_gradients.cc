// lower-gradients: replaces each ONNX Gradient op (ai.onnx.preview.training) with the ops that
// compute its gradients, built by the autodiff pass from the per-op rule table.
#include <unordered_map>

#include "ir/builder.h"
#include "passes/autodiff/autodiff.h"
#include "passes/pass.h"

namespace dlc::passes {
namespace {

// Gradient(xs..., zs...) {xs, y, zs}: its results are dy/dx for the values named in `xs`; `y` names
// the differentiated value, which the op reads by name rather than as an operand.
Status lowerOne(Op& op) {
  Region& region = *op.parent();
  const std::vector<std::string> xs = op.getStrings("xs");
  const std::string y_name = op.getString("y");
  auto where = [&] { return str("Gradient '", op.location(), "': "); };
  if (static_cast<int>(xs.size()) > op.numOperands())
    return Status::error(where() + "needs one input per name in xs");
  Value* y = nullptr;
  for (int i = 0; i < region.numArguments() && !y; ++i)
    if (region.argument(i)->name() == y_name) y = region.argument(i);
  for (const auto& o : region.ops()) {
    if (y || o.get() == &op) break;
    for (int i = 0; i < o->numResults() && !y; ++i)
      if (o->result(i)->name() == y_name) y = o->result(i);
  }
  if (!y) return Status::error(where() + "no value named '" + y_name + "' is computed before it");
  std::vector<Value*> wrt;
  for (size_t i = 0; i < xs.size(); ++i) wrt.push_back(op.operand(static_cast<int>(i)));
  auto grads = autodiff::gradients(y, nullptr, wrt, &op);
  if (!grads.ok()) return grads.status().withContext(where().substr(0, where().size() - 2));
  for (int i = 0; i < op.numResults(); ++i) {
    Value* g = (*grads)[static_cast<size_t>(i)];
    // A gradient that is a value of the forward graph (dy/dy, say) goes through an Identity so the
    // result keeps its own name.
    if (!g->definingOp() || g->definingOp()->kind() == OpKind::Constant || g == y) {
      Builder b(region);
      b.setInsertionPoint(&op);
      auto id = b.create1(OpKind::Identity, {g}, {}, op.location());
      if (!id.ok()) return id.status();
      g = *id;
    }
    g->setName(op.result(i)->name());
    op.result(i)->replaceAllUsesWith(g);
  }
  op.erase();
  return Status::success();
}

Status lowerIn(Region& region) {
  std::vector<Op*> ops;
  for (const auto& op : region.ops()) ops.push_back(op.get());
  for (Op* op : ops) {
    for (Region* sub : op->regions()) DLC_RETURN_IF_ERROR(lowerIn(*sub));
    if (op->kind() == OpKind::Gradient) DLC_RETURN_IF_ERROR(lowerOne(*op));
  }
  return Status::success();
}

// StopGradient(x) ==> x once every Gradient op is lowered: its meaning ends with autodiff.
void removeStopGradients(Region& region) {
  std::vector<Op*> ops;
  for (const auto& op : region.ops()) ops.push_back(op.get());
  for (Op* op : ops) {
    for (Region* sub : op->regions()) removeStopGradients(*sub);
    if (op->kind() != OpKind::StopGradient) continue;
    op->result(0)->replaceAllUsesWith(op->operand(0));
    op->erase();
  }
}

class LowerGradients : public Pass {
 public:
  Status run(Graph& graph, const PassContext&) override {
    DLC_RETURN_IF_ERROR(lowerIn(graph.body()));
    removeStopGradients(graph.body());
    return Status::success();
  }
};

}  // namespace

std::unique_ptr<Pass> createLowerGradientsPass() { return std::make_unique<LowerGradients>(); }

}  // namespace dlc::passes
