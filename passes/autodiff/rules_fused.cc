// dlc's fused ops are differentiated through the standard ops they stand for: the unfuse pass's
// rewrite of each (passes/unfuse.cc), applied in place before the reverse sweep.
#include "passes/autodiff/rules.h"
#include "passes/unfuse.h"

namespace dlc::autodiff {

Expected<bool> decomposeFused(Op& op) { return passes::unfuseOp(op); }

}  // namespace dlc::autodiff
