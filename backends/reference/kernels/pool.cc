// Reference kernels: MaxPool (with Indices), AveragePool, LpPool, the global pools, MaxUnpool, and
// the pool gradients MaxPoolGrad and AveragePoolGrad.
#include <cmath>
#include <cstring>
#include <limits>
#include <vector>

#include "backends/reference/kernels/nn_util.h"

namespace dlc::ref {
namespace {

// Reads kernel_shape and the window geometry of a pool over X[N, C, spatial...].
Status poolWindow(const KernelContext& ctx, const Tensor& X, bool dilations, bool ceil_mode, Window* w) {
  if (X.rank() < 3) return ctx.error(str("X must be [N,C,spatial...], got rank ", X.rank()));
  std::vector<int64_t> k = ctx.op().getInts("kernel_shape");
  if (static_cast<int>(k.size()) != X.rank() - 2) return ctx.error("kernel_shape must have one value per spatial dim");
  return computeWindow(ctx, dimsFrom(X, 2), k, dilations, ceil_mode, w);
}

std::vector<int64_t> pooledShape(const Tensor& X, const Window& w) {
  std::vector<int64_t> s{X.dim(0), X.dim(1)};
  for (int64_t d : w.outDims()) s.push_back(d);
  return s;
}

template <typename T>
void maxPool(const T* x, int64_t NC, const Window& w, bool col_major, T* y, int64_t* indices) {
  const int64_t I = w.inSize();
  int64_t o = 0;
  for (int64_t nc = 0; nc < NC; ++nc) {
    const T* xc = x + nc * I;
    for (int64_t z = 0; z < w.out[0]; ++z)
      for (int64_t yy = 0; yy < w.out[1]; ++yy)
        for (int64_t xx = 0; xx < w.out[2]; ++xx, ++o) {
          T best = std::numeric_limits<T>::lowest();
          if (std::numeric_limits<T>::has_infinity) best = -std::numeric_limits<T>::infinity();
          int64_t bz = -1, by = 0, bx = 0;
          for (int64_t kd = 0; kd < w.k[0]; ++kd) {
            int64_t iz = z * w.s[0] - w.pb[0] + kd * w.d[0];
            if (iz < 0 || iz >= w.in[0]) continue;
            for (int64_t kh = 0; kh < w.k[1]; ++kh) {
              int64_t iy = yy * w.s[1] - w.pb[1] + kh * w.d[1];
              if (iy < 0 || iy >= w.in[1]) continue;
              const T* row = xc + (iz * w.in[1] + iy) * w.in[2];
              for (int64_t kw = 0; kw < w.k[2]; ++kw) {
                int64_t ix = xx * w.s[2] - w.pb[2] + kw * w.d[2];
                if (ix < 0 || ix >= w.in[2]) continue;
                if (bz < 0 || row[ix] > best) {
                  best = row[ix];
                  bz = iz, by = iy, bx = ix;
                }
              }
            }
          }
          y[o] = best;
          if (indices) {
            // Indices flatten over the whole input; storage_order=1 orders the spatial dims
            // column-major (the last dim varies slowest).
            int64_t sp = col_major ? bz + w.in[0] * (by + w.in[1] * bx) : (bz * w.in[1] + by) * w.in[2] + bx;
            indices[o] = bz < 0 ? -1 : nc * I + sp;
          }
        }
  }
}

Status maxPoolKernel(KernelContext& ctx) {
  const Tensor& X = ctx.input(0);
  Window w;
  DLC_RETURN_IF_ERROR(poolWindow(ctx, X, true, ctx.op().getInt("ceil_mode", 0) != 0, &w));
  bool col_major = ctx.op().getInt("storage_order", 0) != 0;
  std::vector<int64_t> shape = pooledShape(X, w);
  bool want_idx = ctx.numOutputs() > 1;
  Tensor idx(DType::I64, want_idx ? shape : std::vector<int64_t>{0});
  int64_t NC = X.dim(0) * X.dim(1);
  int64_t* ip = want_idx ? idx.data<int64_t>() : nullptr;
  switch (X.dtype()) {
    case DType::I8: {
      Tensor y(DType::I8, shape);
      maxPool(X.data<int8_t>(), NC, w, col_major, y.data<int8_t>(), ip);
      ctx.setOutput(0, y);
      break;
    }
    case DType::U8: {
      Tensor y(DType::U8, shape);
      maxPool(X.data<uint8_t>(), NC, w, col_major, y.data<uint8_t>(), ip);
      ctx.setOutput(0, y);
      break;
    }
    default: {
      if (!isNNFloat(X.dtype())) return ctx.error(str("unsupported dtype ", dtypeName(X.dtype())));
      Tensor xc = toCompute(X);
      Tensor y(xc.dtype(), shape);
      DLC_NN_FLOAT_DISPATCH(xc.dtype(), T, { maxPool(xc.data<T>(), NC, w, col_major, y.data<T>(), ip); });
      ctx.setOutput(0, fromCompute(y, X.dtype()));
    }
  }
  if (want_idx) ctx.setOutput(1, idx);
  return Status::success();
}

// Average (p == 0) or Lp (p > 0) pooling; pads count toward the average only with count_include_pad.
template <typename T>
void sumPool(const T* x, int64_t NC, const Window& w, bool include_pad, int64_t p, T* y) {
  const int64_t I = w.inSize();
  int64_t o = 0;
  for (int64_t nc = 0; nc < NC; ++nc) {
    const T* xc = x + nc * I;
    for (int64_t z = 0; z < w.out[0]; ++z)
      for (int64_t yy = 0; yy < w.out[1]; ++yy)
        for (int64_t xx = 0; xx < w.out[2]; ++xx, ++o) {
          int64_t start[3] = {z * w.s[0] - w.pb[0], yy * w.s[1] - w.pb[1], xx * w.s[2] - w.pb[2]};
          int64_t lo[3], hi[3], padded = 1, valid = 1;
          for (int i = 0; i < 3; ++i) {
            int64_t end = std::min(start[i] + w.k[i], w.in[i] + w.pe[i]);
            padded *= end - start[i];
            lo[i] = std::max<int64_t>(start[i], 0);
            hi[i] = std::min(end, w.in[i]);
            valid *= std::max<int64_t>(hi[i] - lo[i], 0);
          }
          T acc = 0;
          for (int64_t iz = lo[0]; iz < hi[0]; ++iz)
            for (int64_t iy = lo[1]; iy < hi[1]; ++iy) {
              const T* row = xc + (iz * w.in[1] + iy) * w.in[2];
              for (int64_t ix = lo[2]; ix < hi[2]; ++ix) {
                T v = row[ix];
                acc += p == 0 ? v : p == 1 ? std::abs(v) : p == 2 ? v * v : static_cast<T>(std::pow(std::abs(v), p));
              }
            }
          if (p == 0)
            y[o] = valid == 0 && !include_pad ? T(0) : acc / static_cast<T>(include_pad ? padded : valid);
          else
            y[o] = p == 1 ? acc : p == 2 ? std::sqrt(acc) : static_cast<T>(std::pow(acc, T(1) / static_cast<T>(p)));
        }
  }
}

Status sumPoolKernel(KernelContext& ctx, bool lp) {
  const Tensor& X = ctx.input(0);
  if (!isNNFloat(X.dtype())) return ctx.error("X must be a float tensor");
  Window w;
  DLC_RETURN_IF_ERROR(poolWindow(ctx, X, false, !lp && ctx.op().getInt("ceil_mode", 0) != 0, &w));
  int64_t p = lp ? ctx.op().getInt("p", 2) : 0;
  if (lp && p < 1) return ctx.error("p must be positive");
  bool include_pad = !lp && ctx.op().getInt("count_include_pad", 0) != 0;
  Tensor xc = toCompute(X);
  Tensor y(xc.dtype(), pooledShape(X, w));
  DLC_NN_FLOAT_DISPATCH(xc.dtype(), T, { sumPool(xc.data<T>(), X.dim(0) * X.dim(1), w, include_pad, p, y.data<T>()); });
  ctx.setOutput(0, fromCompute(y, X.dtype()));
  return Status::success();
}

Status averagePoolKernel(KernelContext& ctx) { return sumPoolKernel(ctx, false); }
Status lpPoolKernel(KernelContext& ctx) { return sumPoolKernel(ctx, true); }

// MaxPoolGrad(dY, X): the windows are found again with maxPool's scan (so ties pick the same
// first maximum) and each window's dY is added to the element its maximum came from.
Status maxPoolGradKernel(KernelContext& ctx) {
  const Tensor& dY = ctx.input(0);
  const Tensor& X = ctx.input(1);
  if (!isNNFloat(X.dtype()) || dY.dtype() != X.dtype()) return ctx.error("dY and X must be floats of the same dtype");
  Window w;
  DLC_RETURN_IF_ERROR(poolWindow(ctx, X, true, ctx.op().getInt("ceil_mode", 0) != 0, &w));
  if (pooledShape(X, w) != dY.shape()) return ctx.error("dY does not have the pooled shape of X");
  int64_t NC = X.dim(0) * X.dim(1);
  Tensor xc = toCompute(X), gc = toCompute(dY);
  Tensor dx(xc.dtype(), X.shape());
  std::vector<int64_t> idx(static_cast<size_t>(dY.numel()));
  DLC_NN_FLOAT_DISPATCH(xc.dtype(), T, {
    Tensor scratch(xc.dtype(), dY.shape());
    maxPool(xc.data<T>(), NC, w, false, scratch.data<T>(), idx.data());
    const T* g = gc.data<T>();
    T* out = dx.data<T>();
    for (size_t o = 0; o < idx.size(); ++o)
      if (idx[o] >= 0) out[idx[o]] += g[o];
  });
  ctx.setOutput(0, fromCompute(dx, X.dtype()));
  return Status::success();
}

// AveragePoolGrad(dY, X): each window's dY divided by the count its average used (padded or valid
// elements, as sumPool) goes to every valid element of the window.
Status averagePoolGradKernel(KernelContext& ctx) {
  const Tensor& dY = ctx.input(0);
  const Tensor& X = ctx.input(1);
  if (!isNNFloat(X.dtype()) || dY.dtype() != X.dtype()) return ctx.error("dY and X must be floats of the same dtype");
  Window w;
  DLC_RETURN_IF_ERROR(poolWindow(ctx, X, false, ctx.op().getInt("ceil_mode", 0) != 0, &w));
  if (pooledShape(X, w) != dY.shape()) return ctx.error("dY does not have the pooled shape of X");
  const bool include_pad = ctx.op().getInt("count_include_pad", 0) != 0;
  const int64_t NC = X.dim(0) * X.dim(1), I = w.inSize();
  Tensor gc = toCompute(dY);
  Tensor dx(gc.dtype(), X.shape());
  DLC_NN_FLOAT_DISPATCH(gc.dtype(), T, {
    const T* g = gc.data<T>();
    T* out = dx.data<T>();
    int64_t o = 0;
    for (int64_t nc = 0; nc < NC; ++nc) {
      T* xc = out + nc * I;
      for (int64_t z = 0; z < w.out[0]; ++z)
        for (int64_t yy = 0; yy < w.out[1]; ++yy)
          for (int64_t xx = 0; xx < w.out[2]; ++xx, ++o) {
            int64_t start[3] = {z * w.s[0] - w.pb[0], yy * w.s[1] - w.pb[1], xx * w.s[2] - w.pb[2]};
            int64_t lo[3], hi[3], padded = 1, valid = 1;
            for (int i = 0; i < 3; ++i) {
              int64_t end = std::min(start[i] + w.k[i], w.in[i] + w.pe[i]);
              padded *= end - start[i];
              lo[i] = std::max<int64_t>(start[i], 0);
              hi[i] = std::min(end, w.in[i]);
              valid *= std::max<int64_t>(hi[i] - lo[i], 0);
            }
            if (valid == 0) continue;
            T share = g[o] / static_cast<T>(include_pad ? padded : valid);
            for (int64_t iz = lo[0]; iz < hi[0]; ++iz)
              for (int64_t iy = lo[1]; iy < hi[1]; ++iy) {
                T* row = xc + (iz * w.in[1] + iy) * w.in[2];
                for (int64_t ix = lo[2]; ix < hi[2]; ++ix) row[ix] += share;
              }
          }
    }
  });
  ctx.setOutput(0, fromCompute(dx, X.dtype()));
  return Status::success();
}

enum class GlobalKind { Avg, Max, Lp };

template <GlobalKind K>
Status globalPoolKernel(KernelContext& ctx) {
  const Tensor& X = ctx.input(0);
  if (!isNNFloat(X.dtype())) return ctx.error("X must be a float tensor");
  if (X.rank() < 2) return ctx.error("X must be [N,C,spatial...]");
  std::vector<int64_t> shape = X.shape();
  for (size_t i = 2; i < shape.size(); ++i) shape[i] = 1;
  int64_t S = product(X.shape(), 2), NC = X.dim(0) * X.dim(1);
  int64_t p = K == GlobalKind::Lp ? ctx.op().getInt("p", 2) : 0;
  Tensor xc = toCompute(X);
  Tensor y(xc.dtype(), shape);
  DLC_NN_FLOAT_DISPATCH(xc.dtype(), T, {
    const T* x = xc.data<T>();
    T* out = y.data<T>();
    for (int64_t nc = 0; nc < NC; ++nc) {
      const T* v = x + nc * S;
      T acc = K == GlobalKind::Max ? -std::numeric_limits<T>::infinity() : T(0);
      for (int64_t i = 0; i < S; ++i) {
        if (K == GlobalKind::Avg) acc += v[i];
        else if (K == GlobalKind::Max) acc = std::max(acc, v[i]);
        else acc += static_cast<T>(std::pow(std::abs(v[i]), p));
      }
      if (K == GlobalKind::Avg) acc /= static_cast<T>(S);
      if (K == GlobalKind::Lp) acc = static_cast<T>(std::pow(acc, 1.0 / static_cast<double>(p)));
      out[nc] = acc;
    }
  });
  ctx.setOutput(0, fromCompute(y, X.dtype()));
  return Status::success();
}

Status maxUnpoolKernel(KernelContext& ctx) {
  const Tensor& X = ctx.input(0);
  const Tensor& I = ctx.input(1);
  if (X.rank() < 3) return ctx.error("X must be [N,C,spatial...]");
  if (I.shape() != X.shape()) return ctx.error("I must have X's shape");
  // Indices address the default output (the shape MaxPool's input had); a larger output_shape
  // keeps each value at the same coordinates, padding the ends with zeros (the ONNX reference).
  std::vector<int64_t> k = ctx.op().getInts("kernel_shape"), s = ctx.op().getInts("strides"),
                       p = ctx.op().getInts("pads");
  size_t n = static_cast<size_t>(X.rank() - 2);
  if (k.size() != n) return ctx.error("kernel_shape must have one value per spatial dim");
  if (s.empty()) s.assign(n, 1);
  if (p.empty()) p.assign(2 * n, 0);
  if (s.size() != n || p.size() != 2 * n) return ctx.error("bad strides or pads");
  std::vector<int64_t> dflt{X.dim(0), X.dim(1)};
  for (size_t i = 0; i < n; ++i) dflt.push_back((X.dim(static_cast<int>(i) + 2) - 1) * s[i] + k[i] - p[i] - p[i + n]);
  std::vector<int64_t> shape = dflt;
  if (ctx.hasInput(2)) {
    shape = ctx.input(2).toInt64Vector();
    if (static_cast<int>(shape.size()) != X.rank()) return ctx.error("output_shape must have X's rank");
  }
  Tensor y(X.dtype(), shape);
  const int64_t total = product(dflt);
  const size_t es = dtypeSize(X.dtype());
  for (int64_t i = 0; i < X.numel(); ++i) {
    int64_t j = I.getInt(i);
    if (j < 0 || j >= total) return ctx.error(str("index ", j, " is outside the output of ", total, " elements"));
    int64_t rem = j, dst = 0, stride = 1;
    bool inside = true;
    for (int d = X.rank() - 1; d >= 0; --d) {
      int64_t c = rem % dflt[static_cast<size_t>(d)];
      rem /= dflt[static_cast<size_t>(d)];
      if (c >= shape[static_cast<size_t>(d)]) inside = false;
      dst += c * stride;
      stride *= shape[static_cast<size_t>(d)];
    }
    if (!inside) continue;  // a smaller output_shape crops
    std::memcpy(static_cast<char*>(y.raw()) + static_cast<size_t>(dst) * es,
                static_cast<const char*>(X.raw()) + static_cast<size_t>(i) * es, es);
  }
  ctx.setOutput(0, y);
  return Status::success();
}

}  // namespace

void registerPoolKernels(KernelTable& t) {
  t[static_cast<size_t>(OpKind::MaxPool)] = maxPoolKernel;
  t[static_cast<size_t>(OpKind::AveragePool)] = averagePoolKernel;
  t[static_cast<size_t>(OpKind::LpPool)] = lpPoolKernel;
  t[static_cast<size_t>(OpKind::GlobalAveragePool)] = globalPoolKernel<GlobalKind::Avg>;
  t[static_cast<size_t>(OpKind::GlobalMaxPool)] = globalPoolKernel<GlobalKind::Max>;
  t[static_cast<size_t>(OpKind::GlobalLpPool)] = globalPoolKernel<GlobalKind::Lp>;
  t[static_cast<size_t>(OpKind::MaxUnpool)] = maxUnpoolKernel;
  t[static_cast<size_t>(OpKind::MaxPoolGrad)] = maxPoolGradKernel;
  t[static_cast<size_t>(OpKind::AveragePoolGrad)] = averagePoolGradKernel;
}

}  // namespace dlc::ref
