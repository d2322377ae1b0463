// The reference backend: an interpreter that runs an IR graph op by op with the reference kernels.
#pragma once

#include <vector>

#include "backends/reference/value.h"
#include "ir/graph.h"
#include "ir/status.h"

namespace dlc::ref {

// Every op kind in `graph` (nested regions included) that has no reference kernel, once each.
std::vector<OpKind> unsupportedOps(const Graph& graph);

class Interpreter {
 public:
  explicit Interpreter(const Graph& graph) : graph_(graph) {}

  // Checks the inputs against the graph signature (count, dtype, static and symbolic dims), runs
  // every op, and returns the graph outputs in order.
  Expected<std::vector<RtValue>> run(const std::vector<RtValue>& inputs) const;

 private:
  const Graph& graph_;
};

}  // namespace dlc::ref
