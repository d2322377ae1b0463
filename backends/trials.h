// Trial sizes for a graph whose types are not all static. A backend that runs such ops (specialized
// by its library once per run shape) checks at compile time that it can lower them at trial sizes:
// the graph with its input symbols bound (distinct sizes 64, 96, 128, ..., else all 64; and all 1
// where the model takes that) and re-inferred, so that a lowering that holds only for some sizes (a
// broadcast a dim of 1 changes) keeps the op with the reference kernels instead of failing a run.
#pragma once

#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include "ir/graph.h"

namespace dlc::backends {

struct Trial {
  std::string what;  // "at distinct trial sizes"
  std::unique_ptr<Graph> graph;
  std::unordered_map<const Op*, const Op*> ops;  // op of the compiled graph -> its copy here
};

bool isStaticTensor(const Value* v);
// Every operand and result a tensor of static shape.
bool opIsStatic(const Op& op);
// No trials when every op is static; else those of the candidate sizes the graph infers at.
std::vector<Trial> makeTrials(const Graph& graph);

}  // namespace dlc::backends
