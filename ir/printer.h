// The textual IR printer. print(parse(print(g))) == print(g).
#pragma once

#include <string>

#include "ir/graph.h"

namespace dlc {

struct PrintOptions {
  // Print constants with more than `elide_threshold` elements as `<elided>` (not parseable).
  bool elide_large_constants = false;
  int64_t elide_threshold = 16;
};

std::string printGraph(const Graph& graph, const PrintOptions& options = {});
// One op on one line (no nested regions), for error messages and debugging.
std::string printOp(const Op& op);

}  // namespace dlc
