// Reference kernels: Conv (im2col + GEMM, direct depthwise, 1x1 as plain GEMM), ConvTranspose,
// ConvGradWeight (the weight gradient, im2col + GEMM), ConvInteger and QLinearConv (integer convs run the same core in f64, exact for int8 sums).
#include <cmath>
#include <memory>
#include <type_traits>
#include <vector>

#include "backends/reference/gemm.h"
#include "backends/reference/kernels/linear_kernels.h"
#include "backends/reference/kernels/nn_util.h"

namespace dlc::ref {
namespace {

inline void gemm(bool ta, bool tb, int64_t m, int64_t n, int64_t k, const float* a, int64_t lda, const float* b,
                 int64_t ldb, float* c, int64_t ldc) {
  gemmF32(ta, tb, m, n, k, 1.0f, a, lda, b, ldb, 0.0f, c, ldc);
}
inline void gemm(bool ta, bool tb, int64_t m, int64_t n, int64_t k, const double* a, int64_t lda, const double* b,
                 int64_t ldb, double* c, int64_t ldc) {
  gemmF64(ta, tb, m, n, k, 1.0, a, lda, b, ldb, 0.0, c, ldc);
}

// Output positions [lo, hi) along one dim whose input index o*s + base lies inside [0, in): the
// loops over them need no bounds test.
inline void validRange(int64_t base, int64_t s, int64_t in, int64_t out, int64_t* lo, int64_t* hi) {
  *lo = base >= 0 ? 0 : std::min(out, (-base + s - 1) / s);
  *hi = in - base <= 0 ? 0 : std::min(out, (in - base + s - 1) / s);
  if (*hi < *lo) *hi = *lo;
}

// col[(c, kd, kh, kw), (z, y, x)] = x[c, z*s - pb + kd*d, ...], zero in the padding.
template <typename T>
void im2col(const T* x, int64_t channels, const Window& w, T* col) {
  T* dst = col;
  const int64_t ow = w.out[2];
  for (int64_t c = 0; c < channels; ++c) {
    const T* xc = x + c * w.inSize();
    for (int64_t kd = 0; kd < w.k[0]; ++kd)
      for (int64_t kh = 0; kh < w.k[1]; ++kh)
        for (int64_t kw = 0; kw < w.k[2]; ++kw) {
          int64_t base = kw * w.d[2] - w.pb[2], lo, hi;
          validRange(base, w.s[2], w.in[2], ow, &lo, &hi);
          for (int64_t z = 0; z < w.out[0]; ++z) {
            int64_t iz = z * w.s[0] - w.pb[0] + kd * w.d[0];
            for (int64_t y = 0; y < w.out[1]; ++y, dst += ow) {
              int64_t iy = y * w.s[1] - w.pb[1] + kh * w.d[1];
              if (iz < 0 || iz >= w.in[0] || iy < 0 || iy >= w.in[1]) {
                std::fill(dst, dst + ow, T(0));
                continue;
              }
              const T* row = xc + (iz * w.in[1] + iy) * w.in[2];
              std::fill(dst, dst + lo, T(0));
              for (int64_t xo = lo; xo < hi; ++xo) dst[xo] = row[xo * w.s[2] + base];
              std::fill(dst + hi, dst + ow, T(0));
            }
          }
        }
  }
}

// Depthwise conv (one input and one output channel per group) without the im2col copy.
template <typename T>
void depthwise(const T* x, const T* wt, int64_t n_images, int64_t channels, const Window& w, T* y) {
  const int64_t P = w.outSize(), ow = w.out[2];
  for (int64_t nc = 0; nc < n_images * channels; ++nc) {
    const T* xc = x + nc * w.inSize();
    const T* wc = wt + (nc % channels) * w.kSize();
    T* yc = y + nc * P;
    std::fill(yc, yc + P, T(0));
    for (int64_t kd = 0; kd < w.k[0]; ++kd)
      for (int64_t kh = 0; kh < w.k[1]; ++kh)
        for (int64_t kw = 0; kw < w.k[2]; ++kw) {
          const T wv = wc[(kd * w.k[1] + kh) * w.k[2] + kw];
          int64_t base = kw * w.d[2] - w.pb[2], lo, hi;
          validRange(base, w.s[2], w.in[2], ow, &lo, &hi);
          for (int64_t z = 0; z < w.out[0]; ++z) {
            int64_t iz = z * w.s[0] - w.pb[0] + kd * w.d[0];
            if (iz < 0 || iz >= w.in[0]) continue;
            for (int64_t yy = 0; yy < w.out[1]; ++yy) {
              int64_t iy = yy * w.s[1] - w.pb[1] + kh * w.d[1];
              if (iy < 0 || iy >= w.in[1]) continue;
              const T* row = xc + (iz * w.in[1] + iy) * w.in[2];
              T* __restrict yrow = yc + (z * w.out[1] + yy) * ow;
              for (int64_t xo = lo; xo < hi; ++xo) yrow[xo] += wv * row[xo * w.s[2] + base];
            }
          }
        }
  }
}

// y[N, M, out] = conv(x[N, C, in], wt[M, C/G, k]) + bias[M] (bias may be null).
template <typename T>
void convCore(const T* x, const T* wt, const T* bias, int64_t N, int64_t C, int64_t M, int64_t G, const Window& w,
              T* y) {
  const int64_t Cg = C / G, Mg = M / G, K = Cg * w.kSize(), P = w.outSize(), I = w.inSize();
  bool pointwise = w.kSize() == 1;
  for (int i = 0; i < 3; ++i) pointwise = pointwise && w.s[i] == 1 && w.pb[i] == 0 && w.pe[i] == 0;
  if (G == C && M == C && G > 1) {
    depthwise(x, wt, N, C, w, y);
  } else {
    // im2col writes every element, so the buffer is left uninitialised (new T[], not vector).
    std::unique_ptr<T[]> col(pointwise ? nullptr : new T[static_cast<size_t>(K * P)]);
    for (int64_t n = 0; n < N; ++n)
      for (int64_t g = 0; g < G; ++g) {
        const T* xg = x + (n * C + g * Cg) * I;
        const T* b = xg;  // a 1x1 stride-1 unpadded conv reads the input as the [Cg, P] matrix itself
        if (!pointwise) {
          im2col(xg, Cg, w, col.get());
          b = col.get();
        }
        gemm(false, false, Mg, P, K, wt + g * Mg * K, K, b, P, y + (n * M + g * Mg) * P, P);
      }
  }
  if (bias)
    for (int64_t n = 0; n < N; ++n)
      for (int64_t m = 0; m < M; ++m) {
        T* ym = y + (n * M + m) * P;
        for (int64_t p = 0; p < P; ++p) ym[p] += bias[m];
      }
}

// Shared operand checks and geometry of Conv, ConvInteger and QLinearConv.
Status convGeometry(const KernelContext& ctx, const Tensor& X, const Tensor& W, Window* w, int64_t* G) {
  if (X.rank() < 3 || W.rank() != X.rank())
    return ctx.error(str("X must be [N,C,spatial...] and W of the same rank; got ranks ", X.rank(), " and ", W.rank()));
  *G = ctx.op().getInt("group", 1);
  int64_t C = X.dim(1), M = W.dim(0);
  if (*G < 1 || C % *G != 0 || M % *G != 0)
    return ctx.error(str("group ", *G, " must divide input channels ", C, " and output channels ", M));
  if (W.dim(1) != C / *G) return ctx.error(str("W has ", W.dim(1), " input channels per group, expected ", C / *G));
  std::vector<int64_t> kernel = dimsFrom(W, 2);
  std::vector<int64_t> attr_k = ctx.op().getInts("kernel_shape");
  if (!attr_k.empty() && attr_k != kernel) return ctx.error("kernel_shape does not match W's spatial dims");
  return computeWindow(ctx, dimsFrom(X, 2), kernel, true, false, w);
}

std::vector<int64_t> outShape(int64_t n, int64_t c, const Window& w) {
  std::vector<int64_t> s{n, c};
  for (int64_t d : w.outDims()) s.push_back(d);
  return s;
}

Status convKernel(KernelContext& ctx) {
  const Tensor& X = ctx.input(0);
  const Tensor& W = ctx.input(1);
  if (!isNNFloat(X.dtype()) || X.dtype() != W.dtype()) return ctx.error("X and W must be floats of the same dtype");
  Window w;
  int64_t G;
  DLC_RETURN_IF_ERROR(convGeometry(ctx, X, W, &w, &G));
  int64_t M = W.dim(0);
  Tensor b;
  if (ctx.hasInput(2)) {
    if (ctx.input(2).numel() != M) return ctx.error(str("B must have ", M, " elements"));
    b = toCompute(ctx.input(2));
  }
  Tensor xc = toCompute(X), wc = toCompute(W);
  Tensor y = Tensor::uninitialized(xc.dtype(), outShape(X.dim(0), M, w));  // convCore writes all of y
  DLC_NN_FLOAT_DISPATCH(xc.dtype(), T, {
    convCore<T>(xc.data<T>(), wc.data<T>(), b.defined() ? b.data<T>() : nullptr, X.dim(0), X.dim(1), M, G, w,
                y.data<T>());
  });
  ctx.setOutput(0, fromCompute(y, X.dtype()));
  return Status::success();
}

// ConvGradWeight(X, dY): per image and group, dW_g += dY_g · im2col(X_g)ᵀ, the weight gradient of
// the convolution whose output gradient dY is (its windows are those of Conv over X).
template <typename T>
void convGradWeightCore(const T* x, const T* dy, int64_t N, int64_t C, int64_t M, int64_t G, const Window& w, T* dw) {
  const int64_t Cg = C / G, Mg = M / G, K = Cg * w.kSize(), P = w.outSize(), I = w.inSize();
  std::unique_ptr<T[]> col(new T[static_cast<size_t>(K * P)]);
  for (int64_t n = 0; n < N; ++n)
    for (int64_t g = 0; g < G; ++g) {
      im2col(x + (n * C + g * Cg) * I, Cg, w, col.get());
      const T* dyg = dy + (n * M + g * Mg) * P;
      if constexpr (std::is_same_v<T, double>)
        gemmF64(false, true, Mg, K, P, 1.0, dyg, P, col.get(), P, 1.0, dw + g * Mg * K, K);
      else
        gemmF32(false, true, Mg, K, P, 1.0f, dyg, P, col.get(), P, 1.0f, dw + g * Mg * K, K);
    }
}

Status convGradWeightKernel(KernelContext& ctx) {
  const Tensor& X = ctx.input(0);
  const Tensor& dY = ctx.input(1);
  if (!isNNFloat(X.dtype()) || X.dtype() != dY.dtype()) return ctx.error("X and dY must be floats of the same dtype");
  if (X.rank() < 3 || dY.rank() != X.rank()) return ctx.error("X must be [N,C,spatial...] and dY of the same rank");
  const int64_t G = ctx.op().getInt("group", 1), C = X.dim(1), M = dY.dim(1);
  if (G < 1 || C % G != 0 || M % G != 0 || dY.dim(0) != X.dim(0))
    return ctx.error(str("group ", G, " must divide X's ", C, " and dY's ", M, " channels, and the batches must agree"));
  std::vector<int64_t> kernel = ctx.op().getInts("kernel_shape");
  Window w;
  DLC_RETURN_IF_ERROR(computeWindow(ctx, dimsFrom(X, 2), kernel, true, false, &w));
  if (w.outDims() != dimsFrom(dY, 2)) return ctx.error("dY's spatial dims are not the convolution's output dims");
  std::vector<int64_t> shape{M, C / G};
  shape.insert(shape.end(), kernel.begin(), kernel.end());
  Tensor xc = toCompute(X), gc = toCompute(dY);
  Tensor dw(xc.dtype(), shape);
  DLC_NN_FLOAT_DISPATCH(xc.dtype(), T, {
    convGradWeightCore<T>(xc.data<T>(), gc.data<T>(), X.dim(0), C, M, G, w, dw.data<T>());
  });
  ctx.setOutput(0, fromCompute(dw, X.dtype()));
  if (ctx.numOutputs() > 1) {  // dB[m] = Σ dY[n, m, ...]
    Tensor db(gc.dtype(), {M});
    const int64_t P = w.outSize();
    for (int64_t n = 0; n < X.dim(0); ++n)
      for (int64_t m = 0; m < M; ++m) {
        double acc = db.getDouble(m);
        for (int64_t p = 0; p < P; ++p) acc += gc.getDouble((n * M + m) * P + p);
        db.setDouble(m, acc);
      }
    ctx.setOutput(1, fromCompute(db, X.dtype()));
  }
  return Status::success();
}

// x - zero_point as f64; `zp` is a scalar or holds one value per `channel_dim` slice.
Tensor shifted(const Tensor& x, const Tensor* zp, int channel_dim) {
  Tensor out = x.castTo(DType::F64);
  if (!zp || !zp->defined()) return out;
  double* p = out.data<double>();
  if (zp->numel() <= 1) {
    double z = zp->numel() == 1 ? zp->getDouble(0) : 0.0;
    for (int64_t i = 0; i < out.numel(); ++i) p[i] -= z;
    return out;
  }
  int64_t inner = product(x.shape(), static_cast<size_t>(channel_dim) + 1);
  int64_t ch = x.dim(channel_dim);
  for (int64_t i = 0; i < out.numel(); ++i) p[i] -= zp->getDouble((i / inner) % ch);
  return out;
}

bool isInt8(DType t) { return t == DType::I8 || t == DType::U8; }

Status convIntegerKernel(KernelContext& ctx) {
  const Tensor& X = ctx.input(0);
  const Tensor& W = ctx.input(1);
  if (!isInt8(X.dtype()) || !isInt8(W.dtype())) return ctx.error("x and w must be int8 or uint8");
  Window w;
  int64_t G;
  DLC_RETURN_IF_ERROR(convGeometry(ctx, X, W, &w, &G));
  const Tensor* xz = ctx.hasInput(2) ? &ctx.input(2) : nullptr;
  const Tensor* wz = ctx.hasInput(3) ? &ctx.input(3) : nullptr;
  if (xz && xz->numel() > 1) return ctx.error("x_zero_point must be a scalar");
  if (wz && wz->numel() > 1 && wz->numel() != W.dim(0)) return ctx.error("w_zero_point must be scalar or per output channel");
  Tensor xs = shifted(X, xz, 1), ws = shifted(W, wz, 0);
  Tensor acc(DType::F64, outShape(X.dim(0), W.dim(0), w));
  convCore<double>(xs.data<double>(), ws.data<double>(), nullptr, X.dim(0), X.dim(1), W.dim(0), G, w,
                   acc.data<double>());
  ctx.setOutput(0, acc.castTo(DType::I32));
  return Status::success();
}

Status qlinearConvKernel(KernelContext& ctx) {
  const Tensor& X = ctx.input(0);
  const Tensor& W = ctx.input(3);
  if (!isInt8(X.dtype()) || !isInt8(W.dtype())) return ctx.error("x and w must be int8 or uint8");
  Window w;
  int64_t G;
  DLC_RETURN_IF_ERROR(convGeometry(ctx, X, W, &w, &G));
  const int64_t M = W.dim(0);
  const Tensor& xscale = ctx.input(1);
  const Tensor& wscale = ctx.input(4);
  const Tensor& yscale = ctx.input(6);
  const Tensor& yzp = ctx.input(7);
  if (xscale.numel() != 1 || yscale.numel() != 1 || yzp.numel() != 1 || ctx.input(2).numel() != 1)
    return ctx.error("x_scale, x_zero_point, y_scale and y_zero_point must be scalars");
  if (wscale.numel() != 1 && wscale.numel() != M) return ctx.error("w_scale must be scalar or per output channel");
  if (ctx.input(5).numel() != 1 && ctx.input(5).numel() != M)
    return ctx.error("w_zero_point must be scalar or per output channel");
  Tensor xs = shifted(X, &ctx.input(2), 1), ws = shifted(W, &ctx.input(5), 0);
  std::vector<double> bias;
  if (ctx.hasInput(8)) {
    if (ctx.input(8).numel() != M) return ctx.error(str("B must have ", M, " elements"));
    bias = ctx.input(8).toDoubleVector();
  }
  Tensor acc(DType::F64, outShape(X.dim(0), M, w));
  convCore<double>(xs.data<double>(), ws.data<double>(), bias.empty() ? nullptr : bias.data(), X.dim(0), X.dim(1), M,
                   G, w, acc.data<double>());
  DType yt = yzp.dtype();
  if (!isInt8(yt)) return ctx.error("y_zero_point must be int8 or uint8");
  double lo = yt == DType::U8 ? 0 : -128, hi = yt == DType::U8 ? 255 : 127, z = yzp.getDouble(0);
  Tensor y(yt, acc.shape());
  const int64_t P = w.outSize();
  for (int64_t i = 0; i < acc.numel(); ++i) {
    int64_t m = (i / P) % M;
    // The multiplier is formed in f32 as the ONNX spec's reference and ONNX Runtime do.
    float mult = static_cast<float>(xscale.getDouble(0)) * static_cast<float>(wscale.getDouble(wscale.numel() == 1 ? 0 : m)) /
                 static_cast<float>(yscale.getDouble(0));
    double v = std::nearbyint(acc.data<double>()[i] * mult) + z;
    y.setDouble(i, std::min(hi, std::max(lo, v)));
  }
  ctx.setOutput(0, y);
  return Status::success();
}

// ConvTranspose: per image and group, col = W_g^T x X_g, then col2im scatter-adds into Y.
template <typename T>
void convTransposeCore(const T* x, const T* wt, const T* bias, int64_t N, int64_t C, int64_t Mg, int64_t G,
                       const Window& w, T* y) {
  const int64_t Cg = C / G, KS = w.kSize(), I = w.inSize(), P = w.outSize(), M = Mg * G;
  std::vector<T> col(static_cast<size_t>(Mg * KS * I));
  std::fill(y, y + N * M * P, T(0));
  for (int64_t n = 0; n < N; ++n)
    for (int64_t g = 0; g < G; ++g) {
      gemm(true, false, Mg * KS, I, Cg, wt + g * Cg * Mg * KS, Mg * KS, x + (n * C + g * Cg) * I, I, col.data(), I);
      const T* src = col.data();
      for (int64_t m = 0; m < Mg; ++m) {
        T* ym = y + (n * M + g * Mg + m) * P;
        for (int64_t kd = 0; kd < w.k[0]; ++kd)
          for (int64_t kh = 0; kh < w.k[1]; ++kh)
            for (int64_t kw = 0; kw < w.k[2]; ++kw)
              for (int64_t z = 0; z < w.in[0]; ++z) {
                int64_t oz = z * w.s[0] - w.pb[0] + kd * w.d[0];
                for (int64_t yy = 0; yy < w.in[1]; ++yy, src += w.in[2]) {
                  int64_t oy = yy * w.s[1] - w.pb[1] + kh * w.d[1];
                  if (oz < 0 || oz >= w.out[0] || oy < 0 || oy >= w.out[1]) continue;
                  T* yrow = ym + (oz * w.out[1] + oy) * w.out[2];
                  for (int64_t xx = 0; xx < w.in[2]; ++xx) {
                    int64_t ox = xx * w.s[2] - w.pb[2] + kw * w.d[2];
                    if (ox >= 0 && ox < w.out[2]) yrow[ox] += src[xx];
                  }
                }
              }
      }
    }
  if (bias)
    for (int64_t n = 0; n < N; ++n)
      for (int64_t m = 0; m < M; ++m)
        for (int64_t p = 0; p < P; ++p) y[(n * M + m) * P + p] += bias[m];
}

Status convTransposeKernel(KernelContext& ctx) {
  const Tensor& X = ctx.input(0);
  const Tensor& W = ctx.input(1);
  const Op& op = ctx.op();
  if (!isNNFloat(X.dtype()) || X.dtype() != W.dtype()) return ctx.error("X and W must be floats of the same dtype");
  if (X.rank() < 3 || W.rank() != X.rank()) return ctx.error("X must be [N,C,spatial...] and W of the same rank");
  int n = X.rank() - 2;
  if (n > 3) return ctx.error("supports 1 to 3 spatial dims");
  int64_t G = op.getInt("group", 1), C = X.dim(1);
  if (G < 1 || C % G != 0 || W.dim(0) != C) return ctx.error(str("W must have ", C, " input channels, divisible by group"));
  int64_t Mg = W.dim(1);
  auto get = [&](const char* name, int64_t dflt, size_t count) {
    std::vector<int64_t> v = op.getInts(name);
    if (v.empty()) v.assign(count, dflt);
    return v;
  };
  size_t un = static_cast<size_t>(n);
  std::vector<int64_t> strides = get("strides", 1, un), dil = get("dilations", 1, un), pads = get("pads", 0, 2 * un),
                       opad = get("output_padding", 0, un), oshape = op.getInts("output_shape");
  if (strides.size() != un || dil.size() != un || pads.size() != 2 * un || opad.size() != un)
    return ctx.error("strides/dilations/output_padding need one value and pads two per spatial dim");
  if (!oshape.empty() && oshape.size() != un) {
    if (oshape.size() == un + 2) oshape.erase(oshape.begin(), oshape.begin() + 2);
    else return ctx.error("output_shape must list the spatial output dims");
  }
  std::string auto_pad = op.getString("auto_pad", "NOTSET");
  Window w;
  w.nsp = n;
  for (int i = 0; i < n; ++i) {
    int j = 3 - n + i;
    size_t u = static_cast<size_t>(i);
    w.in[j] = X.dim(2 + i);
    w.k[j] = W.dim(2 + i);
    w.s[j] = strides[u];
    w.d[j] = dil[u];
    int64_t ek = (w.k[j] - 1) * w.d[j] + 1;
    int64_t full = w.s[j] * (w.in[j] - 1) + opad[u] + ek;
    if (!oshape.empty() || auto_pad == "SAME_UPPER" || auto_pad == "SAME_LOWER") {
      w.out[j] = !oshape.empty() ? oshape[u] : w.in[j] * w.s[j];
      int64_t total = std::max<int64_t>(0, full - w.out[j]);
      // The spec puts the odd pad at the end for SAME_UPPER and at the start otherwise.
      w.pb[j] = auto_pad == "SAME_UPPER" ? total / 2 : total - total / 2;
      w.pe[j] = total - w.pb[j];
    } else {
      if (auto_pad != "VALID") {
        w.pb[j] = pads[u];
        w.pe[j] = pads[u + un];
      }
      w.out[j] = full - w.pb[j] - w.pe[j];
    }
    if (w.out[j] < 1) return ctx.error("output size is not positive");
  }
  int64_t M = Mg * G;
  Tensor b;
  if (ctx.hasInput(2)) {
    if (ctx.input(2).numel() != M) return ctx.error(str("B must have ", M, " elements"));
    b = toCompute(ctx.input(2));
  }
  Tensor xc = toCompute(X), wc = toCompute(W);
  Tensor y(xc.dtype(), outShape(X.dim(0), M, w));
  DLC_NN_FLOAT_DISPATCH(xc.dtype(), T, {
    convTransposeCore<T>(xc.data<T>(), wc.data<T>(), b.defined() ? b.data<T>() : nullptr, X.dim(0), C, Mg, G, w,
                         y.data<T>());
  });
  ctx.setOutput(0, fromCompute(y, X.dtype()));
  return Status::success();
}

}  // namespace

Status runConv(KernelContext& ctx) { return convKernel(ctx); }

void registerConvKernels(KernelTable& t) {
  t[static_cast<size_t>(OpKind::Conv)] = convKernel;
  t[static_cast<size_t>(OpKind::ConvInteger)] = convIntegerKernel;
  t[static_cast<size_t>(OpKind::QLinearConv)] = qlinearConvKernel;
  t[static_cast<size_t>(OpKind::ConvTranspose)] = convTransposeKernel;
  t[static_cast<size_t>(OpKind::ConvGradWeight)] = convGradWeightKernel;
}

}  // namespace dlc::ref
