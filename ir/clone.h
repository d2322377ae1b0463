// Deep copies of the IR: a whole graph, or a region with its nested regions.
#pragma once

#include <memory>
#include <unordered_map>

#include "ir/graph.h"

namespace dlc {

// A copy of `g` (metadata, arguments, ops with their attributes and nested regions, outputs);
// constant tensors share their storage, which is immutable. The memory plan is not copied.
std::unique_ptr<Graph> cloneGraph(const Graph& g);

// Copies the arguments, ops and outputs of `src` into the empty region `dst`. `map` translates
// values from outside `src` (captured by it) and receives every copied value.
void cloneRegionInto(const Region& src, Region& dst, std::unordered_map<const Value*, Value*>& map);

}  // namespace dlc
