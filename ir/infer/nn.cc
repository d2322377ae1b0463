// Shape and type inference for the nn ops.
#include "ir/infer/infer.h"

namespace dlc::infer {

Status inferAveragePool(InferContext& ctx) { return ctx.error("shape inference not implemented"); }
Status inferBatchNormalization(InferContext& ctx) { return ctx.error("shape inference not implemented"); }
Status inferConv(InferContext& ctx) { return ctx.error("shape inference not implemented"); }
Status inferConvInteger(InferContext& ctx) { return ctx.error("shape inference not implemented"); }
Status inferConvTranspose(InferContext& ctx) { return ctx.error("shape inference not implemented"); }
Status inferDropout(InferContext& ctx) { return ctx.error("shape inference not implemented"); }
Status inferGRU(InferContext& ctx) { return ctx.error("shape inference not implemented"); }
Status inferGlobalAveragePool(InferContext& ctx) { return ctx.error("shape inference not implemented"); }
Status inferGlobalLpPool(InferContext& ctx) { return ctx.error("shape inference not implemented"); }
Status inferGlobalMaxPool(InferContext& ctx) { return ctx.error("shape inference not implemented"); }
Status inferGridSample(InferContext& ctx) { return ctx.error("shape inference not implemented"); }
Status inferLSTM(InferContext& ctx) { return ctx.error("shape inference not implemented"); }
Status inferLayerNormalization(InferContext& ctx) { return ctx.error("shape inference not implemented"); }
Status inferLpPool(InferContext& ctx) { return ctx.error("shape inference not implemented"); }
Status inferMaxPool(InferContext& ctx) { return ctx.error("shape inference not implemented"); }
Status inferMaxRoiPool(InferContext& ctx) { return ctx.error("shape inference not implemented"); }
Status inferMaxUnpool(InferContext& ctx) { return ctx.error("shape inference not implemented"); }
Status inferNegativeLogLikelihoodLoss(InferContext& ctx) { return ctx.error("shape inference not implemented"); }
Status inferNonMaxSuppression(InferContext& ctx) { return ctx.error("shape inference not implemented"); }
Status inferQLinearConv(InferContext& ctx) { return ctx.error("shape inference not implemented"); }
Status inferRNN(InferContext& ctx) { return ctx.error("shape inference not implemented"); }
Status inferResize(InferContext& ctx) { return ctx.error("shape inference not implemented"); }
Status inferRoiAlign(InferContext& ctx) { return ctx.error("shape inference not implemented"); }
Status inferSoftmaxCrossEntropyLoss(InferContext& ctx) { return ctx.error("shape inference not implemented"); }
Status inferUpsample(InferContext& ctx) { return ctx.error("shape inference not implemented"); }
Status inferAdagrad(InferContext& ctx) { return ctx.error("shape inference not implemented"); }
Status inferAdam(InferContext& ctx) { return ctx.error("shape inference not implemented"); }
Status inferGradient(InferContext& ctx) { return ctx.error("shape inference not implemented"); }
Status inferMomentum(InferContext& ctx) { return ctx.error("shape inference not implemented"); }

}  // namespace dlc::infer
