// Dead-code elimination: erases ops none of whose results are used, unless they have side effects.
#include "passes/pass.h"

namespace dlc::passes {
namespace {

// Erases dead ops of `region` and its nested regions; returns how many.
int eraseDeadOps(Region& region) {
  int erased = 0;
  // Visit users before producers (reverse order) so a dead chain goes in one sweep. Only the op
  // being visited is freed, so the snapshot's other pointers stay valid.
  std::vector<Op*> ops;
  for (const auto& op : region.ops()) ops.push_back(op.get());
  for (auto it = ops.rbegin(); it != ops.rend(); ++it) {
    Op* op = *it;
    for (Region* sub : op->regions()) erased += eraseDeadOps(*sub);
    if (op->info().has(kSideEffects)) continue;
    bool used = false;
    for (int r = 0; r < op->numResults(); ++r) used |= op->result(r)->hasUses();
    if (used) continue;
    op->erase();
    ++erased;
  }
  return erased;
}

class DeadCodeElimination : public Pass {
 public:
  Status run(Graph& graph, const PassContext&) override {
    eraseDeadOps(graph.body());
    return Status::success();
  }
};

}  // namespace

std::unique_ptr<Pass> createDeadCodeEliminationPass() { return std::make_unique<DeadCodeElimination>(); }

}  // namespace dlc::passes
