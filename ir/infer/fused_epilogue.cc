// Shape and type inference for FusedConv and FusedMatMul (a heavy op with a fused epilogue).
#include "ir/infer/infer.h"

namespace dlc::infer {

Status inferFusedConv(InferContext& ctx) { return ctx.error("shape inference not implemented"); }
Status inferFusedMatMul(InferContext& ctx) { return ctx.error("shape inference not implemented"); }

}  // namespace dlc::infer
