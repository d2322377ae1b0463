// The plan-memory pass: attaches a checked memory plan (passes/memory_planner.h) to the graph.
#include "passes/memory_planner.h"
#include "passes/pass.h"

namespace dlc::passes {
namespace {

class PlanMemory : public Pass {
 public:
  Status run(Graph& graph, const PassContext&) override {
    auto plan = std::make_shared<MemoryPlan>(planMemory(graph));
    DLC_RETURN_IF_ERROR(checkMemoryPlan(graph, *plan));
    graph.memory_plan = std::move(plan);
    return Status::success();
  }
};

}  // namespace

std::unique_ptr<Pass> createPlanMemoryPass() { return std::make_unique<PlanMemory>(); }

}  // namespace dlc::passes
