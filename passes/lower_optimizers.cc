// lower-optimizers: replaces every optimizer op (dlc's per-parameter *Update ops and ONNX's Adam,
// Adagrad and Momentum) with its update rule as elementwise IR (passes/optimizers/).
#include "passes/optimizers/optimizers.h"
#include "passes/pass.h"

namespace dlc::passes {
namespace {

Status lowerIn(Region& region) {
  std::vector<Op*> ops;
  for (const auto& op : region.ops()) ops.push_back(op.get());
  for (Op* op : ops) {
    for (Region* sub : op->regions()) DLC_RETURN_IF_ERROR(lowerIn(*sub));
    DLC_ASSIGN_OR_RETURN(bool lowered, optimizers::lowerOptimizerOp(*op));
    (void)lowered;
  }
  return Status::success();
}

class LowerOptimizers : public Pass {
 public:
  Status run(Graph& graph, const PassContext&) override { return lowerIn(graph.body()); }
};

}  // namespace

std::unique_ptr<Pass> createLowerOptimizersPass() { return std::make_unique<LowerOptimizers>(); }

}  // namespace dlc::passes
