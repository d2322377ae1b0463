// The unfuse rewrites one op at a time, for the passes that need a fused op in standard form.
#pragma once

#include "ir/graph.h"
#include "ir/status.h"

namespace dlc::passes {

// Rewrites `op` (FusedConv, FusedMatMul, FusedElementwise, Gelu, Attention) into the standard ops
// the unfuse pass gives it, in place; false for any other op.
Expected<bool> unfuseOp(Op& op);

}  // namespace dlc::passes
