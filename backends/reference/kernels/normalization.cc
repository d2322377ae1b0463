// Reference kernels: BatchNormalization, InstanceNormalization, LayerNormalization,
// RMSNormalization, LRN, LpNormalization and MeanVarianceNormalization.
#include <cmath>
#include <optional>
#include <vector>

#include "backends/reference/kernels/nn_util.h"
#include "ir/dtype_onnx.h"

namespace dlc::ref {
namespace {

Status batchNormKernel(KernelContext& ctx) {
  const Tensor& X = ctx.input(0);
  if (!isNNFloat(X.dtype())) return ctx.error("X must be a float tensor");
  if (X.rank() < 2) return ctx.error("X must be [N,C,...]");
  const int64_t N = X.dim(0), C = X.dim(1), S = product(X.shape(), 2);
  for (int i = 1; i < 5; ++i)
    if (ctx.input(i).numel() != C) return ctx.error(str("input ", i, " must have ", C, " elements"));
  const double eps = ctx.op().getFloat("epsilon", 1e-5f);
  const bool training = ctx.op().getInt("training_mode", 0) != 0;
  const double momentum = ctx.op().getFloat("momentum", 0.9f);
  std::vector<double> scale = ctx.input(1).toDoubleVector(), bias = ctx.input(2).toDoubleVector(),
                      mean = ctx.input(3).toDoubleVector(), var = ctx.input(4).toDoubleVector();
  Tensor xc = toCompute(X);
  Tensor y(xc.dtype(), X.shape());
  std::vector<double> bmean(static_cast<size_t>(C), 0.0), bvar(static_cast<size_t>(C), 0.0);
  DLC_NN_FLOAT_DISPATCH(xc.dtype(), T, {
    const T* x = xc.data<T>();
    T* out = y.data<T>();
    if (training) {
      // Batch statistics over N and the spatial dims; the variance is the population variance.
      for (int64_t c = 0; c < C; ++c) {
        double s = 0, ss = 0;
        for (int64_t n = 0; n < N; ++n)
          for (int64_t i = 0; i < S; ++i) s += x[(n * C + c) * S + i];
        double m = s / static_cast<double>(N * S);
        for (int64_t n = 0; n < N; ++n)
          for (int64_t i = 0; i < S; ++i) {
            double d = x[(n * C + c) * S + i] - m;
            ss += d * d;
          }
        bmean[static_cast<size_t>(c)] = m;
        bvar[static_cast<size_t>(c)] = ss / static_cast<double>(N * S);
      }
    }
    for (int64_t c = 0; c < C; ++c) {
      size_t u = static_cast<size_t>(c);
      double m = training ? bmean[u] : mean[u], v = training ? bvar[u] : var[u];
      T a = static_cast<T>(scale[u] / std::sqrt(v + eps));
      T b = static_cast<T>(bias[u] - m * scale[u] / std::sqrt(v + eps));
      for (int64_t n = 0; n < N; ++n) {
        const T* xs = x + (n * C + c) * S;
        T* ys = out + (n * C + c) * S;
        for (int64_t i = 0; i < S; ++i) ys[i] = xs[i] * a + b;
      }
    }
  });
  ctx.setOutput(0, fromCompute(y, X.dtype()));
  for (int o = 1; o < ctx.numOutputs(); ++o) {
    const Tensor& in = ctx.input(o + 2);  // input_mean / input_var
    if (!training) {  // nothing was measured: the running statistics pass through unchanged
      ctx.setOutput(o, in);
      continue;
    }
    Tensor r(in.dtype(), in.shape());
    for (int64_t c = 0; c < C; ++c) {
      double cur = o == 1 ? bmean[static_cast<size_t>(c)] : bvar[static_cast<size_t>(c)];
      r.setDouble(c, in.getDouble(c) * momentum + cur * (1 - momentum));
    }
    ctx.setOutput(o, r);
  }
  return Status::success();
}

// Normalizes each of `outer` rows of `inner` values; gamma/beta (may be null) index by
// position within the row. Writes per-row mean and 1/stddev when asked.
template <typename T>
void normalizeRows(const T* x, int64_t outer, int64_t inner, double eps, const T* gamma, const T* beta, T* y,
                   double* means, double* inv_stds) {
  for (int64_t r = 0; r < outer; ++r) {
    const T* xr = x + r * inner;
    T* yr = y + r * inner;
    T s = 0;
    for (int64_t i = 0; i < inner; ++i) s += xr[i];
    T m = s / static_cast<T>(inner);
    T ss = 0;
    for (int64_t i = 0; i < inner; ++i) ss += (xr[i] - m) * (xr[i] - m);
    T inv = T(1) / std::sqrt(ss / static_cast<T>(inner) + static_cast<T>(eps));
    for (int64_t i = 0; i < inner; ++i) {
      T v = (xr[i] - m) * inv;
      if (gamma) v *= gamma[i];
      if (beta) v += beta[i];
      yr[i] = v;
    }
    if (means) means[r] = m;
    if (inv_stds) inv_stds[r] = inv;
  }
}

Status instanceNormKernel(KernelContext& ctx) {
  const Tensor& X = ctx.input(0);
  if (!isNNFloat(X.dtype())) return ctx.error("X must be a float tensor");
  if (X.rank() < 3) return ctx.error("X must be [N,C,spatial...]");
  const int64_t N = X.dim(0), C = X.dim(1), S = product(X.shape(), 2);
  if (ctx.input(1).numel() != C || ctx.input(2).numel() != C) return ctx.error(str("scale and B must have ", C, " elements"));
  Tensor xc = toCompute(X), sc = toCompute(ctx.input(1)).castTo(xc.dtype()), bc = toCompute(ctx.input(2)).castTo(xc.dtype());
  Tensor y(xc.dtype(), X.shape());
  double eps = ctx.op().getFloat("epsilon", 1e-5f);
  DLC_NN_FLOAT_DISPATCH(xc.dtype(), T, {
    for (int64_t n = 0; n < N; ++n)
      for (int64_t c = 0; c < C; ++c) {
        int64_t off = (n * C + c) * S;
        T g = sc.data<T>()[c], b = bc.data<T>()[c];
        normalizeRows<T>(xc.data<T>() + off, 1, S, eps, nullptr, nullptr, y.data<T>() + off, nullptr, nullptr);
        T* ys = y.data<T>() + off;
        for (int64_t i = 0; i < S; ++i) ys[i] = ys[i] * g + b;
      }
  });
  ctx.setOutput(0, fromCompute(y, X.dtype()));
  return Status::success();
}

// stash_type's ONNX dtype code; anything but a float type computes in f32.
DType stashDType(int64_t stash) {
  std::optional<DType> d = dtypeFromOnnxCode(stash);
  return d && isNNFloat(*d) ? *d : DType::F32;
}

Status layerNormKernel(KernelContext& ctx) {
  const Tensor& X = ctx.input(0);
  if (!isNNFloat(X.dtype())) return ctx.error("X must be a float tensor");
  int axis = 0;
  int64_t a = ctx.op().getInt("axis", -1);
  if (a < -X.rank() || a >= X.rank()) return ctx.error(str("axis ", a, " is out of range for rank ", X.rank()));
  axis = static_cast<int>(a < 0 ? a + X.rank() : a);
  std::vector<int64_t> norm_shape = dimsFrom(X, axis);
  const int64_t inner = product(norm_shape), outer = product(X.shape(), 0, static_cast<size_t>(axis));
  if (!broadcastsTo(ctx.input(1), norm_shape)) return ctx.error("Scale must broadcast to the normalized dims");
  if (ctx.hasInput(2) && !broadcastsTo(ctx.input(2), norm_shape)) return ctx.error("B must broadcast to the normalized dims");
  DType stash = stashDType(ctx.op().getInt("stash_type", 1));
  // Statistics are computed in the stash type (f64 when asked), the rest in X's compute type.
  DType ct = stash == DType::F64 || X.dtype() == DType::F64 ? DType::F64 : DType::F32;
  Tensor xc = X.dtype() == ct ? X : X.castTo(ct);
  Tensor y(ct, X.shape());
  std::vector<double> means(static_cast<size_t>(outer)), invs(static_cast<size_t>(outer));
  DLC_NN_FLOAT_DISPATCH(ct, T, {
    std::vector<T> g = broadcastValues<T>(ctx.input(1), norm_shape);
    std::vector<T> b = ctx.hasInput(2) ? broadcastValues<T>(ctx.input(2), norm_shape) : std::vector<T>{};
    normalizeRows<T>(xc.data<T>(), outer, inner, ctx.op().getFloat("epsilon", 1e-5f), g.data(),
                     b.empty() ? nullptr : b.data(), y.data<T>(), means.data(), invs.data());
  });
  ctx.setOutput(0, y.castTo(X.dtype()));
  std::vector<int64_t> stat_shape = X.shape();
  for (size_t i = static_cast<size_t>(axis); i < stat_shape.size(); ++i) stat_shape[i] = 1;
  for (int o = 1; o < ctx.numOutputs(); ++o) {
    Tensor t = Tensor::fromVector(DType::F64, stat_shape, o == 1 ? means : invs);
    ctx.setOutput(o, t.castTo(stash));
  }
  return Status::success();
}

// RMSNormalization: y = x · 1/sqrt(mean(x²) + ε) · γ over axes [axis, rank), in X's compute type
// (f32 for 16-bit floats), rounded as the standard ops that write it out (unfuse) round.
Status rmsNormKernel(KernelContext& ctx) {
  const Tensor& X = ctx.input(0);
  if (!isNNFloat(X.dtype())) return ctx.error("X must be a float tensor");
  int64_t a = ctx.op().getInt("axis", -1);
  if (a < -X.rank() || a >= X.rank()) return ctx.error(str("axis ", a, " is out of range for rank ", X.rank()));
  const int axis = static_cast<int>(a < 0 ? a + X.rank() : a);
  std::vector<int64_t> norm_shape = dimsFrom(X, axis);
  const int64_t inner = product(norm_shape), outer = product(X.shape(), 0, static_cast<size_t>(axis));
  if (!broadcastsTo(ctx.input(1), norm_shape)) return ctx.error("scale must broadcast to the normalized dims");
  const double eps = ctx.op().getFloat("epsilon", 1e-5f);
  Tensor xc = toCompute(X);
  Tensor y(xc.dtype(), X.shape());
  DLC_NN_FLOAT_DISPATCH(xc.dtype(), T, {
    std::vector<T> g = broadcastValues<T>(ctx.input(1), norm_shape);
    const T* x = xc.data<T>();
    T* out = y.data<T>();
    for (int64_t r = 0; r < outer; ++r) {
      const T* xr = x + r * inner;
      double ss = 0;  // squares rounded to T, summed in f64 as ReduceMean does
      for (int64_t i = 0; i < inner; ++i) ss += static_cast<double>(static_cast<T>(xr[i] * xr[i]));
      const T ms = static_cast<T>(ss / static_cast<double>(inner));
      const T inv = T(1) / std::sqrt(static_cast<T>(ms + static_cast<T>(eps)));
      for (int64_t i = 0; i < inner; ++i) out[r * inner + i] = static_cast<T>(xr[i] * inv) * g[static_cast<size_t>(i)];
    }
  });
  ctx.setOutput(0, y.castTo(X.dtype()));
  return Status::success();
}

Status lrnKernel(KernelContext& ctx) {
  const Tensor& X = ctx.input(0);
  if (!isNNFloat(X.dtype())) return ctx.error("X must be a float tensor");
  if (X.rank() < 2) return ctx.error("X must be [N,C,...]");
  int64_t size = ctx.op().getInt("size", 0);
  if (size < 1) return ctx.error("size must be positive");
  double alpha = ctx.op().getFloat("alpha", 1e-4f), beta = ctx.op().getFloat("beta", 0.75f),
         bias = ctx.op().getFloat("bias", 1.0f);
  const int64_t N = X.dim(0), C = X.dim(1), S = product(X.shape(), 2);
  const int64_t before = (size - 1) / 2, after = size - 1 - before;  // floor and ceil of (size-1)/2
  Tensor xc = toCompute(X);
  Tensor y(xc.dtype(), X.shape());
  DLC_NN_FLOAT_DISPATCH(xc.dtype(), T, {
    const T* x = xc.data<T>();
    T* out = y.data<T>();
    for (int64_t n = 0; n < N; ++n)
      for (int64_t c = 0; c < C; ++c)
        for (int64_t i = 0; i < S; ++i) {
          double sq = 0;
          for (int64_t k = std::max<int64_t>(0, c - before); k <= std::min(C - 1, c + after); ++k) {
            double v = x[(n * C + k) * S + i];
            sq += v * v;
          }
          int64_t o = (n * C + c) * S + i;
          out[o] = static_cast<T>(x[o] / std::pow(bias + alpha / static_cast<double>(size) * sq, beta));
        }
  });
  ctx.setOutput(0, fromCompute(y, X.dtype()));
  return Status::success();
}

Status lpNormKernel(KernelContext& ctx) {
  const Tensor& X = ctx.input(0);
  if (!isNNFloat(X.dtype())) return ctx.error("X must be a float tensor");
  int64_t a = ctx.op().getInt("axis", -1), p = ctx.op().getInt("p", 2);
  if (p != 1 && p != 2) return ctx.error("p must be 1 or 2");
  if (a < -X.rank() || a >= X.rank()) return ctx.error(str("axis ", a, " is out of range for rank ", X.rank()));
  size_t axis = static_cast<size_t>(a < 0 ? a + X.rank() : a);
  const int64_t outer = product(X.shape(), 0, axis), L = X.shape()[axis], inner = product(X.shape(), axis + 1);
  Tensor xc = toCompute(X);
  Tensor y(xc.dtype(), X.shape());
  DLC_NN_FLOAT_DISPATCH(xc.dtype(), T, {
    const T* x = xc.data<T>();
    T* out = y.data<T>();
    for (int64_t o = 0; o < outer; ++o)
      for (int64_t i = 0; i < inner; ++i) {
        T norm = 0;
        for (int64_t l = 0; l < L; ++l) {
          T v = x[(o * L + l) * inner + i];
          norm += p == 1 ? std::abs(v) : v * v;
        }
        if (p == 2) norm = std::sqrt(norm);
        for (int64_t l = 0; l < L; ++l) {
          int64_t e = (o * L + l) * inner + i;
          out[e] = norm == T(0) ? T(0) : x[e] / norm;  // a zero vector stays zero, as in ONNX Runtime
        }
      }
  });
  ctx.setOutput(0, fromCompute(y, X.dtype()));
  return Status::success();
}

Status mvnKernel(KernelContext& ctx) {
  const Tensor& X = ctx.input(0);
  if (!isNNFloat(X.dtype())) return ctx.error("X must be a float tensor");
  std::vector<int64_t> axes = ctx.op().getInts("axes");
  int r = X.rank();
  std::vector<bool> reduced(static_cast<size_t>(r), false);
  for (int64_t a : axes) {
    if (a < -r || a >= r) return ctx.error(str("axis ", a, " is out of range for rank ", r));
    reduced[static_cast<size_t>(a < 0 ? a + r : a)] = true;
  }
  // Each element maps to the statistics slot of its non-reduced coordinates.
  std::vector<int64_t> slot_stride(static_cast<size_t>(r), 0);
  int64_t slots = 1;
  for (int i = r - 1; i >= 0; --i)
    if (!reduced[static_cast<size_t>(i)]) {
      slot_stride[static_cast<size_t>(i)] = slots;
      slots *= X.dim(i);
    }
  std::vector<int64_t> slot(static_cast<size_t>(X.numel()));
  std::vector<int64_t> idx(static_cast<size_t>(r), 0);
  for (int64_t e = 0; e < X.numel(); ++e) {
    int64_t s = 0;
    for (int i = 0; i < r; ++i) s += idx[static_cast<size_t>(i)] * slot_stride[static_cast<size_t>(i)];
    slot[static_cast<size_t>(e)] = s;
    for (int i = r - 1; i >= 0; --i) {
      if (++idx[static_cast<size_t>(i)] < X.dim(i)) break;
      idx[static_cast<size_t>(i)] = 0;
    }
  }
  std::vector<double> sum(static_cast<size_t>(slots), 0.0), sq(static_cast<size_t>(slots), 0.0);
  double count = static_cast<double>(X.numel()) / static_cast<double>(std::max<int64_t>(slots, 1));
  std::vector<double> x = X.toDoubleVector();
  for (size_t e = 0; e < x.size(); ++e) {
    sum[static_cast<size_t>(slot[e])] += x[e];
    sq[static_cast<size_t>(slot[e])] += x[e] * x[e];
  }
  Tensor y(X.dtype(), X.shape());
  for (size_t e = 0; e < x.size(); ++e) {
    size_t s = static_cast<size_t>(slot[e]);
    double m = sum[s] / count, var = std::max(0.0, sq[s] / count - m * m);
    // The ONNX function body: (X - E[X]) / (sqrt(E[X^2] - E[X]^2) + 1e-9).
    y.setDouble(static_cast<int64_t>(e), (x[e] - m) / (std::sqrt(var) + 1e-9));
  }
  ctx.setOutput(0, y);
  return Status::success();
}

}  // namespace

void registerNormalizationKernels(KernelTable& t) {
  t[static_cast<size_t>(OpKind::BatchNormalization)] = batchNormKernel;
  t[static_cast<size_t>(OpKind::InstanceNormalization)] = instanceNormKernel;
  t[static_cast<size_t>(OpKind::LayerNormalization)] = layerNormKernel;
  t[static_cast<size_t>(OpKind::LRN)] = lrnKernel;
  t[static_cast<size_t>(OpKind::RMSNormalization)] = rmsNormKernel;
  t[static_cast<size_t>(OpKind::LpNormalization)] = lpNormKernel;
  t[static_cast<size_t>(OpKind::MeanVarianceNormalization)] = mvnKernel;
}

}  // namespace dlc::ref
