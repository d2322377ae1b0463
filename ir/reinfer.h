// Re-running shape inference over a region after something made types more precise (bound input
// symbols, shape arithmetic folded into constants, a segment's inputs given the shapes of a run),
// keeping what the recorded types knew.
#pragma once

#include "ir/graph.h"
#include "ir/infer/infer.h"
#include "ir/status.h"

namespace dlc {

// Re-infers every op of `region` in order (nested regions first: an op's rule may read their
// outputs), substituting `sizes` into nested region arguments and recorded types, and reading
// `known` values as constants. True when some result's type changed.
Expected<bool> reinferTypes(Region& region, const SymbolSizes& sizes = {}, const KnownValues* known = nullptr);

}  // namespace dlc
