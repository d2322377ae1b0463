// The textual IR printer. print(parse(print(g))) == print(g).
#pragma once

#include <string>
#include <vector>

#include "ir/graph.h"

namespace dlc {

struct PrintOptions {
  // Print constants with more than `elide_threshold` elements as `<elided>` (not parseable).
  bool elide_large_constants = false;
  int64_t elide_threshold = 16;
};

std::string printGraph(const Graph& graph, const PrintOptions& options = {});
// Consecutive ops of one region (with their regions) as a standalone graph `@step` whose
// arguments are `inputs` (the values they use from elsewhere: operands and the outer values their
// regions capture, each once) and which returns `outputs`: how kernel libraries that take IR
// (reference, oneDNN) receive one step of an artifact.
std::string printOpsAsGraph(const std::vector<const Op*>& ops, const std::vector<const Value*>& inputs,
                            const std::vector<const Value*>& outputs);

// One op on one line (no nested regions), for error messages and debugging.
std::string printOp(const Op& op);

}  // namespace dlc
