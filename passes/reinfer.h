// Re-running shape inference over a region after something made types more precise (bound input
// symbols, shape arithmetic folded into constants), keeping what the recorded types knew.
#pragma once

#include <map>
#include <string>

#include "ir/graph.h"
#include "ir/status.h"

namespace dlc::passes {

using Bindings = std::map<std::string, int64_t>;  // symbol -> size

// Replaces bound symbols by their sizes, in a type and in the types it holds.
Type substitute(Type t, const Bindings& b);

// Re-infers every op of `region` in order (nested regions first: an op's rule may read their
// outputs), substituting `b` into nested region arguments and recorded types. True when some
// result's type changed.
Expected<bool> reinferTypes(Region& region, const Bindings& b = {});

}  // namespace dlc::passes
