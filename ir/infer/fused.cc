// Shape and type inference for dlc's own fused ops.
#include "ir/infer/infer.h"

namespace dlc::infer {

Status inferFusedConv(InferContext& ctx) { return ctx.error("shape inference not implemented"); }
Status inferFusedMatMul(InferContext& ctx) { return ctx.error("shape inference not implemented"); }
Status inferFusedElementwise(InferContext& ctx) { return ctx.error("shape inference not implemented"); }
Status inferAttention(InferContext& ctx) { return ctx.error("shape inference not implemented"); }

}  // namespace dlc::infer
