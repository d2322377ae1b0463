// Shape and type inference for the tensor ops.
#include "ir/infer/infer.h"

namespace dlc::infer {

Status inferCompress(InferContext& ctx) { return ctx.error("shape inference not implemented"); }
Status inferConcat(InferContext& ctx) { return ctx.error("shape inference not implemented"); }
Status inferConstant(InferContext& ctx) { return ctx.error("shape inference not implemented"); }
Status inferConstantOfShape(InferContext& ctx) { return ctx.error("shape inference not implemented"); }
Status inferDepthToSpace(InferContext& ctx) { return ctx.error("shape inference not implemented"); }
Status inferExpand(InferContext& ctx) { return ctx.error("shape inference not implemented"); }
Status inferFlatten(InferContext& ctx) { return ctx.error("shape inference not implemented"); }
Status inferGather(InferContext& ctx) { return ctx.error("shape inference not implemented"); }
Status inferGatherElements(InferContext& ctx) { return ctx.error("shape inference not implemented"); }
Status inferGatherND(InferContext& ctx) { return ctx.error("shape inference not implemented"); }
Status inferNonZero(InferContext& ctx) { return ctx.error("shape inference not implemented"); }
Status inferOneHot(InferContext& ctx) { return ctx.error("shape inference not implemented"); }
Status inferPad(InferContext& ctx) { return ctx.error("shape inference not implemented"); }
Status inferReshape(InferContext& ctx) { return ctx.error("shape inference not implemented"); }
Status inferShape(InferContext& ctx) { return ctx.error("shape inference not implemented"); }
Status inferSize(InferContext& ctx) { return ctx.error("shape inference not implemented"); }
Status inferSlice(InferContext& ctx) { return ctx.error("shape inference not implemented"); }
Status inferSpaceToDepth(InferContext& ctx) { return ctx.error("shape inference not implemented"); }
Status inferSplit(InferContext& ctx) { return ctx.error("shape inference not implemented"); }
Status inferSqueeze(InferContext& ctx) { return ctx.error("shape inference not implemented"); }
Status inferTile(InferContext& ctx) { return ctx.error("shape inference not implemented"); }
Status inferTopK(InferContext& ctx) { return ctx.error("shape inference not implemented"); }
Status inferTranspose(InferContext& ctx) { return ctx.error("shape inference not implemented"); }
Status inferUnique(InferContext& ctx) { return ctx.error("shape inference not implemented"); }
Status inferUnsqueeze(InferContext& ctx) { return ctx.error("shape inference not implemented"); }

}  // namespace dlc::infer
