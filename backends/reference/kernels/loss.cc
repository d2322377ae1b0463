// Reference kernels: NegativeLogLikelihoodLoss and SoftmaxCrossEntropyLoss (all reductions,
// class weights, ignore_index, the optional log_prob output).
#include <cmath>
#include <vector>

#include "backends/reference/kernels/nn_util.h"

namespace dlc::ref {
namespace {

// loss[n, d] = -logp[n, target[n, d], d] * weight[target]; ignored targets contribute nothing and
// leave the weight sum of the mean reduction.
Status nllCore(KernelContext& ctx, const std::vector<double>& logp, const std::vector<int64_t>& in_shape,
               const Tensor& target, DType out_dtype) {
  const Op& op = ctx.op();
  if (in_shape.size() < 2) return ctx.error("input must be [N, C, d...]");
  const int64_t N = in_shape[0], C = in_shape[1], D = product(in_shape, 2);
  std::vector<int64_t> tshape{N};
  tshape.insert(tshape.end(), in_shape.begin() + 2, in_shape.end());
  if (target.shape() != tshape) return ctx.error("target must be input's shape without the class dim");
  if (!isInteger(target.dtype())) return ctx.error("target must be an integer tensor");
  std::vector<double> weight;
  if (ctx.hasInput(2)) {
    if (ctx.input(2).numel() != C) return ctx.error(str("weight must have ", C, " elements"));
    weight = ctx.input(2).toDoubleVector();
  }
  const bool has_ignore = op.hasAttr("ignore_index");
  const int64_t ignore = op.getInt("ignore_index", 0);
  const std::string reduction = op.getString("reduction", "mean");
  if (reduction != "none" && reduction != "sum" && reduction != "mean")
    return ctx.error(str("unknown reduction '", reduction, "'"));
  std::vector<double> loss(static_cast<size_t>(N * D), 0.0);
  double sum = 0, wsum = 0;
  for (int64_t n = 0; n < N; ++n)
    for (int64_t d = 0; d < D; ++d) {
      int64_t t = target.getInt(n * D + d);
      if (has_ignore && t == ignore) continue;
      if (t < 0 || t >= C) return ctx.error(str("target ", t, " is outside [0, ", C, ")"));
      double w = weight.empty() ? 1.0 : weight[static_cast<size_t>(t)];
      double l = -logp[static_cast<size_t>((n * C + t) * D + d)] * w;
      loss[static_cast<size_t>(n * D + d)] = l;
      sum += l;
      wsum += w;
    }
  if (reduction == "none") {
    ctx.setOutput(0, Tensor::fromVector(DType::F64, tshape, loss).castTo(out_dtype));
  } else {
    double v = reduction == "sum" ? sum : sum / wsum;
    ctx.setOutput(0, Tensor::scalar(DType::F64, v).castTo(out_dtype));
  }
  return Status::success();
}

Status nllKernel(KernelContext& ctx) {
  const Tensor& in = ctx.input(0);
  if (!isNNFloat(in.dtype())) return ctx.error("input must be a float tensor");
  return nllCore(ctx, in.toDoubleVector(), in.shape(), ctx.input(1), in.dtype());
}

Status sceKernel(KernelContext& ctx) {
  const Tensor& scores = ctx.input(0);
  if (!isNNFloat(scores.dtype())) return ctx.error("scores must be a float tensor");
  if (scores.rank() < 2) return ctx.error("scores must be [N, C, d...]");
  const int64_t N = scores.dim(0), C = scores.dim(1), D = product(scores.shape(), 2);
  std::vector<double> x = scores.toDoubleVector(), logp(x.size());
  for (int64_t n = 0; n < N; ++n)
    for (int64_t d = 0; d < D; ++d) {
      double m = -INFINITY, s = 0;
      for (int64_t c = 0; c < C; ++c) m = std::max(m, x[static_cast<size_t>((n * C + c) * D + d)]);
      for (int64_t c = 0; c < C; ++c) s += std::exp(x[static_cast<size_t>((n * C + c) * D + d)] - m);
      double lse = m + std::log(s);
      for (int64_t c = 0; c < C; ++c) {
        size_t i = static_cast<size_t>((n * C + c) * D + d);
        logp[i] = x[i] - lse;
      }
    }
  DLC_RETURN_IF_ERROR(nllCore(ctx, logp, scores.shape(), ctx.input(1), scores.dtype()));
  if (ctx.numOutputs() > 1) ctx.setOutput(1, Tensor::fromVector(DType::F64, scores.shape(), logp).castTo(scores.dtype()));
  return Status::success();
}

}  // namespace

void registerLossKernels(KernelTable& t) {
  t[static_cast<size_t>(OpKind::NegativeLogLikelihoodLoss)] = nllKernel;
  t[static_cast<size_t>(OpKind::SoftmaxCrossEntropyLoss)] = sceKernel;
}

}  // namespace dlc::ref
