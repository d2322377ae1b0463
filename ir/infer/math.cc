// Shape and type inference for the math ops.
#include "ir/infer/infer.h"

namespace dlc::infer {

Status inferArgMax(InferContext& ctx) { return ctx.error("shape inference not implemented"); }
Status inferArgMin(InferContext& ctx) { return ctx.error("shape inference not implemented"); }
Status inferBernoulli(InferContext& ctx) { return ctx.error("shape inference not implemented"); }
Status inferBlackmanWindow(InferContext& ctx) { return ctx.error("shape inference not implemented"); }
Status inferCast(InferContext& ctx) { return ctx.error("shape inference not implemented"); }
Status inferCastLike(InferContext& ctx) { return ctx.error("shape inference not implemented"); }
Status inferDFT(InferContext& ctx) { return ctx.error("shape inference not implemented"); }
Status inferDequantizeLinear(InferContext& ctx) { return ctx.error("shape inference not implemented"); }
Status inferDet(InferContext& ctx) { return ctx.error("shape inference not implemented"); }
Status inferDynamicQuantizeLinear(InferContext& ctx) { return ctx.error("shape inference not implemented"); }
Status inferEinsum(InferContext& ctx) { return ctx.error("shape inference not implemented"); }
Status inferEyeLike(InferContext& ctx) { return ctx.error("shape inference not implemented"); }
Status inferGemm(InferContext& ctx) { return ctx.error("shape inference not implemented"); }
Status inferHammingWindow(InferContext& ctx) { return ctx.error("shape inference not implemented"); }
Status inferHannWindow(InferContext& ctx) { return ctx.error("shape inference not implemented"); }
Status inferMatMul(InferContext& ctx) { return ctx.error("shape inference not implemented"); }
Status inferMatMulInteger(InferContext& ctx) { return ctx.error("shape inference not implemented"); }
Status inferMelWeightMatrix(InferContext& ctx) { return ctx.error("shape inference not implemented"); }
Status inferMultinomial(InferContext& ctx) { return ctx.error("shape inference not implemented"); }
Status inferQLinearMatMul(InferContext& ctx) { return ctx.error("shape inference not implemented"); }
Status inferQuantizeLinear(InferContext& ctx) { return ctx.error("shape inference not implemented"); }
Status inferRandomNormal(InferContext& ctx) { return ctx.error("shape inference not implemented"); }
Status inferRandomNormalLike(InferContext& ctx) { return ctx.error("shape inference not implemented"); }
Status inferRandomUniform(InferContext& ctx) { return ctx.error("shape inference not implemented"); }
Status inferRandomUniformLike(InferContext& ctx) { return ctx.error("shape inference not implemented"); }
Status inferRange(InferContext& ctx) { return ctx.error("shape inference not implemented"); }
Status inferReduceL1(InferContext& ctx) { return ctx.error("shape inference not implemented"); }
Status inferReduceL2(InferContext& ctx) { return ctx.error("shape inference not implemented"); }
Status inferReduceLogSum(InferContext& ctx) { return ctx.error("shape inference not implemented"); }
Status inferReduceLogSumExp(InferContext& ctx) { return ctx.error("shape inference not implemented"); }
Status inferReduceMax(InferContext& ctx) { return ctx.error("shape inference not implemented"); }
Status inferReduceMean(InferContext& ctx) { return ctx.error("shape inference not implemented"); }
Status inferReduceMin(InferContext& ctx) { return ctx.error("shape inference not implemented"); }
Status inferReduceProd(InferContext& ctx) { return ctx.error("shape inference not implemented"); }
Status inferReduceSum(InferContext& ctx) { return ctx.error("shape inference not implemented"); }
Status inferReduceSumSquare(InferContext& ctx) { return ctx.error("shape inference not implemented"); }
Status inferSTFT(InferContext& ctx) { return ctx.error("shape inference not implemented"); }
Status inferStringNormalizer(InferContext& ctx) { return ctx.error("shape inference not implemented"); }
Status inferTfIdfVectorizer(InferContext& ctx) { return ctx.error("shape inference not implemented"); }
Status inferWhere(InferContext& ctx) { return ctx.error("shape inference not implemented"); }

}  // namespace dlc::infer
