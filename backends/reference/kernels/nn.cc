// Reference kernels: the nn ops. Registers each family file's kernels, and holds Dropout.
#include <random>

#include "backends/reference/kernels/linear_kernels.h"
#include "backends/reference/kernels/nn_util.h"

namespace dlc::ref {
namespace {

// Inference (the default) is the identity with an all-true mask. In training mode each element is
// kept with probability 1-ratio and scaled by 1/(1-ratio); the `seed` attribute makes it repeatable.
Status dropoutKernel(KernelContext& ctx) {
  const Tensor& X = ctx.input(0);
  double ratio = ctx.hasInput(1) ? ctx.input(1).getDouble(0) : 0.5;
  bool training = ctx.hasInput(2) && ctx.input(2).getDouble(0) != 0;
  if (ratio < 0 || ratio > 1) return ctx.error(str("ratio ", ratio, " must be in [0, 1]"));
  Tensor mask(DType::Bool, X.shape());
  bool* m = mask.data<bool>();
  if (!training || ratio == 0) {
    std::fill(m, m + X.numel(), true);
    ctx.setOutput(0, X);
  } else {
    if (!isNNFloat(X.dtype())) return ctx.error("X must be a float tensor");
    uint64_t seed = ctx.op().hasAttr("seed") ? static_cast<uint64_t>(ctx.op().getInt("seed")) : std::random_device{}();
    std::mt19937_64 rng(seed);
    std::uniform_real_distribution<double> uni(0.0, 1.0);
    Tensor y(X.dtype(), X.shape());
    double scale = ratio >= 1 ? 0.0 : 1.0 / (1.0 - ratio);
    for (int64_t i = 0; i < X.numel(); ++i) {
      m[i] = uni(rng) >= ratio;
      y.setDouble(i, m[i] ? X.getDouble(i) * scale : 0.0);
    }
    ctx.setOutput(0, y);
  }
  if (ctx.numOutputs() > 1) ctx.setOutput(1, mask);
  return Status::success();
}

}  // namespace

void registerNNKernels(KernelTable& table) {
  table[static_cast<size_t>(OpKind::Dropout)] = dropoutKernel;
  registerConvKernels(table);
  registerPoolKernels(table);
  registerNormalizationKernels(table);
  registerRnnKernels(table);
  registerResizeKernels(table);
  registerDetectionKernels(table);
  registerLossKernels(table);
  registerActivationGradKernels(table);
  registerBatchNormTrainingKernels(table);
  registerFusedEpilogueKernels(table);
}

}  // namespace dlc::ref
