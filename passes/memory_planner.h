// Memory planning: liveness of intermediates, in-place reuse, and offsets in one arena.
#pragma once

#include <functional>

#include "ir/graph.h"
#include "ir/memory_plan.h"
#include "ir/status.h"

namespace dlc::passes {

// Plans the top-level region's intermediates (results of non-Constant ops that are not graph
// outputs). Values inside nested regions and values without a static size are left dynamic.
// With `include`, only the values it accepts are considered (an artifact plans just the values
// that cross its steps; a kernel library keeps the others).
// With `step_of`, top-level ops that run as one step (a backend's segment) share a time: a
// step's inputs stay live until it ends and its outputs are live from its start, since the step
// may write an output before it has read every input; no value takes over another's buffer in
// place inside a multi-op step.
MemoryPlan planMemory(const Graph& graph, const std::function<bool(const Value*)>& include = nullptr,
                      const std::function<int(const Op*)>& step_of = nullptr);

// Checks a plan: every slot aligned and inside the arena, and no two values whose live ranges
// overlap share bytes (unless one reuses the other's buffer in place).
Status checkMemoryPlan(const Graph& graph, const MemoryPlan& plan);

}  // namespace dlc::passes
