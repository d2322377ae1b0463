// Shape and type inference for FusedElementwise and Attention.
#include "ir/infer/infer.h"

namespace dlc::infer {

Status inferFusedElementwise(InferContext& ctx) { return ctx.error("shape inference not implemented"); }
Status inferAttention(InferContext& ctx) { return ctx.error("shape inference not implemented"); }

}  // namespace dlc::infer
