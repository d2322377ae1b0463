// Shape and type inference for the control ops.
#include "ir/infer/infer.h"

namespace dlc::infer {

Status inferConcatFromSequence(InferContext& ctx) { return ctx.error("shape inference not implemented"); }
Status inferIf(InferContext& ctx) { return ctx.error("shape inference not implemented"); }
Status inferLoop(InferContext& ctx) { return ctx.error("shape inference not implemented"); }
Status inferOptional(InferContext& ctx) { return ctx.error("shape inference not implemented"); }
Status inferOptionalGetElement(InferContext& ctx) { return ctx.error("shape inference not implemented"); }
Status inferOptionalHasElement(InferContext& ctx) { return ctx.error("shape inference not implemented"); }
Status inferScan(InferContext& ctx) { return ctx.error("shape inference not implemented"); }
Status inferSequenceAt(InferContext& ctx) { return ctx.error("shape inference not implemented"); }
Status inferSequenceConstruct(InferContext& ctx) { return ctx.error("shape inference not implemented"); }
Status inferSequenceEmpty(InferContext& ctx) { return ctx.error("shape inference not implemented"); }
Status inferSequenceErase(InferContext& ctx) { return ctx.error("shape inference not implemented"); }
Status inferSequenceInsert(InferContext& ctx) { return ctx.error("shape inference not implemented"); }
Status inferSequenceLength(InferContext& ctx) { return ctx.error("shape inference not implemented"); }
Status inferSequenceMap(InferContext& ctx) { return ctx.error("shape inference not implemented"); }
Status inferSplitToSequence(InferContext& ctx) { return ctx.error("shape inference not implemented"); }

}  // namespace dlc::infer
