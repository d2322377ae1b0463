// The reference backend: an interpreter that runs an IR graph op by op with the reference kernels.
#pragma once

#include <chrono>
#include <vector>

#include "backends/reference/value.h"
#include "ir/graph.h"
#include "ir/status.h"

namespace dlc::ref {

// Every op kind in `graph` (nested regions included) that has no reference kernel, once each.
std::vector<OpKind> unsupportedOps(const Graph& graph);

// One kernel execution, as reported to an OpObserver. `depth` is 0 for ops of the graph body and
// grows by one per enclosing If/Loop/Scan, whose own time includes that of their nested ops.
struct OpEvent {
  const Op& op;
  int depth;
  std::chrono::steady_clock::time_point start;
  std::chrono::steady_clock::duration elapsed;
};

// Watches kernels run (profiling, tracing). Without one the interpreter reads no clock.
class OpObserver {
 public:
  virtual ~OpObserver() = default;
  virtual void onOp(const OpEvent& event) = 0;
};

// Runs a single op (no regions) on the given inputs (null = absent optional input). Used by constant
// folding, which evaluates ops through the reference kernels.
Expected<std::vector<Tensor>> evaluateOp(const Op& op, const std::vector<const Tensor*>& inputs);

class Interpreter {
 public:
  explicit Interpreter(const Graph& graph) : graph_(graph) {}

  // `observer` (not owned, may be null) is told about every kernel of later run() calls.
  void setObserver(OpObserver* observer) { observer_ = observer; }

  // Checks the inputs against the graph signature (count, dtype, static and symbolic dims), runs
  // every op, and returns the graph outputs in order.
  Expected<std::vector<RtValue>> run(const std::vector<RtValue>& inputs) const;

 private:
  const Graph& graph_;
  OpObserver* observer_ = nullptr;
};

}  // namespace dlc::ref
