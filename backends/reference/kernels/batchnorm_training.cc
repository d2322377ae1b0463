// Reference kernels of the training BatchNorm pair: BatchNormTraining (batch statistics and the
// normalized output) and BatchNormTrainingGrad (its input, scale and shift gradients).
#include <cmath>
#include <vector>

#include "backends/reference/kernels/nn_util.h"

namespace dlc::ref {
namespace {

struct Layout {
  int64_t N = 0, C = 0, S = 1;  // X as [N, C, S]
};

Status layoutOf(const KernelContext& ctx, const Tensor& X, std::initializer_list<int> channel_inputs, Layout* l) {
  if (!isNNFloat(X.dtype()) || X.rank() < 2) return ctx.error("X must be a float tensor [N, C, ...]");
  l->N = X.dim(0);
  l->C = X.dim(1);
  l->S = product(X.shape(), 2);
  for (int i : channel_inputs)
    if (ctx.input(i).numel() != l->C || ctx.input(i).dtype() != X.dtype())
      return ctx.error(str("input ", i, " must hold ", l->C, " values of X's dtype"));
  return Status::success();
}

// Per channel over n = N·S: mean, population variance var; Y = (X − mean)/√(var + ε)·γ + β.
Status batchNormTrainingKernel(KernelContext& ctx) {
  const Tensor& X = ctx.input(0);
  Layout l;
  DLC_RETURN_IF_ERROR(layoutOf(ctx, X, {1, 2}, &l));
  const double eps = ctx.op().getFloat("epsilon", 1e-5f), n = static_cast<double>(l.N * l.S);
  Tensor xc = toCompute(X), gc = toCompute(ctx.input(1)), bc = toCompute(ctx.input(2));
  Tensor y = Tensor::uninitialized(xc.dtype(), X.shape()), mean(xc.dtype(), {l.C}), var(xc.dtype(), {l.C});
  DLC_NN_FLOAT_DISPATCH(xc.dtype(), T, {
    const T* x = xc.data<T>();
    T* out = y.data<T>();
    for (int64_t c = 0; c < l.C; ++c) {
      double s = 0, ss = 0;
      for (int64_t b = 0; b < l.N; ++b)
        for (int64_t i = 0; i < l.S; ++i) s += x[(b * l.C + c) * l.S + i];
      double m = s / n;
      for (int64_t b = 0; b < l.N; ++b)
        for (int64_t i = 0; i < l.S; ++i) {
          double d = x[(b * l.C + c) * l.S + i] - m;
          ss += d * d;
        }
      double v = ss / n, r = 1.0 / std::sqrt(v + eps), g = gc.data<T>()[c], beta = bc.data<T>()[c];
      for (int64_t b = 0; b < l.N; ++b)
        for (int64_t i = 0; i < l.S; ++i) {
          int64_t k = (b * l.C + c) * l.S + i;
          out[k] = static_cast<T>((x[k] - m) * r * g + beta);
        }
      mean.data<T>()[c] = static_cast<T>(m);
      var.data<T>()[c] = static_cast<T>(v);
    }
  });
  ctx.setOutput(0, fromCompute(y, X.dtype()));
  ctx.setOutput(1, fromCompute(mean, X.dtype()));
  ctx.setOutput(2, fromCompute(var, X.dtype()));
  return Status::success();
}

// r = 1/√(var + ε), x̂ = (X − mean)·r: dβ = Σ dY, dγ = Σ dY·x̂, dX = γ·r·(dY − dβ/n − x̂·dγ/n).
Status batchNormTrainingGradKernel(KernelContext& ctx) {
  const Tensor& dY = ctx.input(0);
  const Tensor& X = ctx.input(1);
  Layout l;
  DLC_RETURN_IF_ERROR(layoutOf(ctx, X, {2, 3, 4}, &l));
  if (dY.shape() != X.shape() || dY.dtype() != X.dtype()) return ctx.error("dY must have X's type");
  const double eps = ctx.op().getFloat("epsilon", 1e-5f), n = static_cast<double>(l.N * l.S);
  Tensor xc = toCompute(X), dc = toCompute(dY), gc = toCompute(ctx.input(2)), mc = toCompute(ctx.input(3)), vc = toCompute(ctx.input(4));
  Tensor dx = Tensor::uninitialized(xc.dtype(), X.shape()), dgamma(xc.dtype(), {l.C}), dbeta(xc.dtype(), {l.C});
  DLC_NN_FLOAT_DISPATCH(xc.dtype(), T, {
    const T *x = xc.data<T>(), *dy = dc.data<T>();
    T* out = dx.data<T>();
    for (int64_t c = 0; c < l.C; ++c) {
      double m = mc.data<T>()[c], r = 1.0 / std::sqrt(static_cast<double>(vc.data<T>()[c]) + eps);
      double sb = 0, sg = 0;
      for (int64_t b = 0; b < l.N; ++b)
        for (int64_t i = 0; i < l.S; ++i) {
          int64_t k = (b * l.C + c) * l.S + i;
          sb += dy[k];
          sg += dy[k] * (x[k] - m) * r;
        }
      double scale = gc.data<T>()[c] * r;
      for (int64_t b = 0; b < l.N; ++b)
        for (int64_t i = 0; i < l.S; ++i) {
          int64_t k = (b * l.C + c) * l.S + i;
          double xhat = (x[k] - m) * r;
          out[k] = static_cast<T>(scale * (dy[k] - sb / n - xhat * sg / n));
        }
      dgamma.data<T>()[c] = static_cast<T>(sg);
      dbeta.data<T>()[c] = static_cast<T>(sb);
    }
  });
  ctx.setOutput(0, fromCompute(dx, X.dtype()));
  ctx.setOutput(1, fromCompute(dgamma, X.dtype()));
  ctx.setOutput(2, fromCompute(dbeta, X.dtype()));
  return Status::success();
}

}  // namespace

void registerBatchNormTrainingKernels(KernelTable& t) {
  t[static_cast<size_t>(OpKind::BatchNormTraining)] = batchNormTrainingKernel;
  t[static_cast<size_t>(OpKind::BatchNormTrainingGrad)] = batchNormTrainingGradKernel;
}

}  // namespace dlc::ref
