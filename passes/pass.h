// The pass interface, the options a pipeline runs with, and the registry of named passes.
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "ir/graph.h"
#include "ir/status.h"

namespace dlc::passes {

// Evaluates one op on constant inputs (null for absent optional inputs). Passes may only depend
// on ir/, so the caller injects the reference kernels through this (see tools/pipeline.cc).
using OpEvaluator = std::function<Expected<std::vector<Tensor>>(const Op&, const std::vector<const Tensor*>&)>;

// What passes may consult: the target being compiled for and user-given specializations.
struct PassContext {
  std::string target = "reference";
  // --input-shape NAME=1x3x224x224: concrete shapes for graph inputs (symbolic dims specialised).
  std::map<std::string, std::vector<int64_t>> input_shapes;
  // Constant folding is skipped when no evaluator is given.
  OpEvaluator evaluate;
};

class Pass {
 public:
  virtual ~Pass() = default;
  // Transforms `graph` in place. A pass that declines to change anything returns success.
  virtual Status run(Graph& graph, const PassContext& ctx) = 0;
};

struct PassInfo {
  const char* name;     // command-line name, e.g. "fold-batchnorm"
  const char* summary;  // one line for --list-passes
  std::unique_ptr<Pass> (*create)();
};

// Every registered pass, in the order of passes/passes.def.
const std::vector<PassInfo>& registeredPasses();
const PassInfo* findPass(const std::string& name);

}  // namespace dlc::passes
