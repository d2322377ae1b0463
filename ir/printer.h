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
// `op` (with its regions) as a standalone graph `@step` whose arguments are `inputs` (the op's
// operands and the outer values its regions capture, each once) and whose outputs are its
// results: how the reference kernel library receives one step of an artifact.
std::string printOpAsGraph(const Op& op, const std::vector<const Value*>& inputs);

// One op on one line (no nested regions), for error messages and debugging.
std::string printOp(const Op& op);

}  // namespace dlc
