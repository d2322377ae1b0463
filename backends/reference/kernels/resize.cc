// Reference kernels: Resize (nearest/linear/cubic, N-D, every coordinate transformation),
// Upsample (Resize with asymmetric coordinates) and GridSample.
#include <cmath>
#include <string>
#include <vector>

#include "backends/reference/kernels/nn_util.h"

namespace dlc::ref {
namespace {

struct ResizeParams {
  std::string mode = "nearest", ctm = "half_pixel", nearest_mode = "round_prefer_floor";
  double cubic_a = -0.75, extrapolation = 0.0;
  bool exclude_outside = false;
};

// Keys' cubic convolution weights for the 4 taps floor(x)-1 .. floor(x)+2 at fraction r.
void cubicCoeffs(double r, double A, double c[4]) {
  c[0] = ((A * (r + 1) - 5 * A) * (r + 1) + 8 * A) * (r + 1) - 4 * A;
  c[1] = ((A + 2) * r - (A + 3)) * r * r + 1;
  c[2] = ((A + 2) * (1 - r) - (A + 3)) * (1 - r) * (1 - r) + 1;
  c[3] = ((A * (2 - r) - 5 * A) * (2 - r) + 8 * A) * (2 - r) - 4 * A;
}

// Per output index along one dim: up to 4 (input index, weight) taps, and whether the sample
// falls outside the input (tf_crop_and_resize extrapolation).
struct DimTaps {
  std::vector<int64_t> idx;    // [out * 4]
  std::vector<double> weight;  // [out * 4]
  std::vector<int> count;      // [out]
  std::vector<char> outside;   // [out]
};

Status buildTaps(const KernelContext& ctx, const ResizeParams& p, int64_t in, int64_t out, double scale,
                 double roi_start, double roi_end, DimTaps* t) {
  t->idx.assign(static_cast<size_t>(out * 4), 0);
  t->weight.assign(static_cast<size_t>(out * 4), 0.0);
  t->count.assign(static_cast<size_t>(out), 0);
  t->outside.assign(static_cast<size_t>(out), 0);
  for (int64_t o = 0; o < out; ++o) {
    double x;
    const double od = static_cast<double>(o);
    if (p.ctm == "half_pixel") x = (od + 0.5) / scale - 0.5;
    else if (p.ctm == "pytorch_half_pixel") x = out > 1 ? (od + 0.5) / scale - 0.5 : 0.0;
    else if (p.ctm == "align_corners") {
      // The ONNX reference divides by in*scale - 1, not by the rounded output length minus one.
      double len = scale * static_cast<double>(in);
      x = len == 1.0 ? 0.0 : od * static_cast<double>(in - 1) / (len - 1);
    }
    else if (p.ctm == "asymmetric") x = od / scale;
    else if (p.ctm == "tf_half_pixel_for_nn") x = (od + 0.5) / scale;
    else if (p.ctm == "tf_crop_and_resize")
      x = out > 1 ? roi_start * static_cast<double>(in - 1) +
                        od * (roi_end - roi_start) * static_cast<double>(in - 1) / static_cast<double>(out - 1)
                  : 0.5 * (roi_start + roi_end) * static_cast<double>(in - 1);
    else return ctx.error(str("unknown coordinate_transformation_mode '", p.ctm, "'"));
    size_t u = static_cast<size_t>(o);
    if (p.ctm == "tf_crop_and_resize" && (x < 0 || x > static_cast<double>(in - 1))) {
      t->outside[u] = 1;
      continue;
    }
    int64_t* ti = &t->idx[u * 4];
    double* tw = &t->weight[u * 4];
    auto clampi = [&](int64_t i) { return std::min(std::max<int64_t>(i, 0), in - 1); };
    double fl = std::floor(x);
    if (p.mode == "nearest") {
      int64_t i;
      bool half = x - fl == 0.5;
      if (p.nearest_mode == "round_prefer_floor") i = half ? static_cast<int64_t>(fl) : static_cast<int64_t>(std::round(x));
      else if (p.nearest_mode == "round_prefer_ceil") i = half ? static_cast<int64_t>(fl) + 1 : static_cast<int64_t>(std::round(x));
      else if (p.nearest_mode == "floor") i = static_cast<int64_t>(fl);
      else if (p.nearest_mode == "ceil") i = static_cast<int64_t>(std::ceil(x));
      else return ctx.error(str("unknown nearest_mode '", p.nearest_mode, "'"));
      ti[0] = clampi(i);
      tw[0] = 1.0;
      t->count[u] = 1;
      continue;
    }
    double r = x - fl;
    int64_t base = static_cast<int64_t>(fl);
    double c[4];
    int n;
    if (p.mode == "linear") {
      n = 2;
      c[0] = 1 - r, c[1] = r;
    } else if (p.mode == "cubic") {
      n = 4;
      base -= 1;
      cubicCoeffs(r, p.cubic_a, c);
    } else {
      return ctx.error(str("unknown mode '", p.mode, "'"));
    }
    if (p.exclude_outside) {
      double sum = 0;
      for (int k = 0; k < n; ++k) {
        int64_t i = base + k;
        if (i < 0 || i >= in) c[k] = 0;
        sum += c[k];
      }
      if (sum != 0)
        for (int k = 0; k < n; ++k) c[k] /= sum;
    }
    int cnt = 0;
    for (int k = 0; k < n; ++k) {
      if (c[k] == 0) continue;  // exact zeros add nothing; skipping them keeps identity dims cheap
      ti[cnt] = clampi(base + k);  // taps past the border repeat the edge value
      tw[cnt++] = c[k];
    }
    t->count[u] = cnt;
  }
  return Status::success();
}

template <typename T>
void resizeGather(const T* x, const std::vector<int64_t>& in_shape, const std::vector<int64_t>& out_shape,
                  const std::vector<DimTaps>& taps, double extrapolation, T* y) {
  const int r = static_cast<int>(in_shape.size());
  std::vector<int64_t> stride(static_cast<size_t>(r), 1), idx(static_cast<size_t>(r), 0);
  for (int i = r - 2; i >= 0; --i) stride[static_cast<size_t>(i)] = stride[static_cast<size_t>(i) + 1] * in_shape[static_cast<size_t>(i) + 1];
  const int64_t total = product(out_shape);
  std::vector<int> k(static_cast<size_t>(r));
  for (int64_t e = 0; e < total; ++e) {
    bool outside = false;
    for (int d = 0; d < r; ++d) outside = outside || taps[static_cast<size_t>(d)].outside[static_cast<size_t>(idx[static_cast<size_t>(d)])];
    double acc = 0;
    if (outside) {
      acc = extrapolation;
    } else {
      // Odometer over the taps of every dim: the weight of a tap tuple is the product per dim.
      std::fill(k.begin(), k.end(), 0);
      while (true) {
        double w = 1;
        int64_t off = 0;
        for (int d = 0; d < r; ++d) {
          const DimTaps& t = taps[static_cast<size_t>(d)];
          size_t slot = static_cast<size_t>(idx[static_cast<size_t>(d)] * 4 + k[static_cast<size_t>(d)]);
          w *= t.weight[slot];
          off += t.idx[slot] * stride[static_cast<size_t>(d)];
        }
        acc += w * static_cast<double>(x[off]);
        int d = r - 1;
        for (; d >= 0; --d) {
          if (++k[static_cast<size_t>(d)] < taps[static_cast<size_t>(d)].count[static_cast<size_t>(idx[static_cast<size_t>(d)])]) break;
          k[static_cast<size_t>(d)] = 0;
        }
        if (d < 0) break;
      }
    }
    y[e] = static_cast<T>(acc);
    for (int d = r - 1; d >= 0; --d) {
      if (++idx[static_cast<size_t>(d)] < out_shape[static_cast<size_t>(d)]) break;
      idx[static_cast<size_t>(d)] = 0;
    }
  }
}

Status runResize(KernelContext& ctx, const Tensor& X, const ResizeParams& p, const std::vector<double>& scales,
                 const std::vector<int64_t>& out_shape, const std::vector<double>& roi) {
  const int r = X.rank();
  std::vector<DimTaps> taps(static_cast<size_t>(r));
  for (int d = 0; d < r; ++d) {
    size_t u = static_cast<size_t>(d);
    double start = roi.size() == static_cast<size_t>(2 * r) ? roi[u] : 0.0;
    double end = roi.size() == static_cast<size_t>(2 * r) ? roi[u + static_cast<size_t>(r)] : 1.0;
    DLC_RETURN_IF_ERROR(buildTaps(ctx, p, X.dim(d), out_shape[u], scales[u], start, end, &taps[u]));
  }
  for (int64_t s : X.shape())
    if (s == 0) {
      ctx.setOutput(0, Tensor(X.dtype(), out_shape));
      return Status::success();
    }
  if (isNNFloat(X.dtype())) {
    Tensor xc = toCompute(X);
    Tensor y(xc.dtype(), out_shape);
    DLC_NN_FLOAT_DISPATCH(xc.dtype(), T, { resizeGather(xc.data<T>(), X.shape(), out_shape, taps, p.extrapolation, y.data<T>()); });
    ctx.setOutput(0, fromCompute(y, X.dtype()));
    return Status::success();
  }
  // Integer inputs (nearest resizes of masks and the like) go through f64 and round back.
  if (p.mode != "nearest" && !isInteger(X.dtype())) return ctx.error(str("unsupported dtype ", dtypeName(X.dtype())));
  Tensor xd = X.castTo(DType::F64);
  Tensor y(DType::F64, out_shape);
  resizeGather(xd.data<double>(), X.shape(), out_shape, taps, p.extrapolation, y.data<double>());
  if (p.mode != "nearest")
    for (int64_t i = 0; i < y.numel(); ++i) y.data<double>()[i] = std::nearbyint(y.data<double>()[i]);
  ctx.setOutput(0, y.castTo(X.dtype()));
  return Status::success();
}

Status resizeKernel(KernelContext& ctx) {
  const Op& op = ctx.op();
  const Tensor& X = ctx.input(0);
  const int r = X.rank();
  ResizeParams p;
  p.mode = op.getString("mode", "nearest");
  p.ctm = op.getString("coordinate_transformation_mode", "half_pixel");
  p.nearest_mode = op.getString("nearest_mode", "round_prefer_floor");
  p.cubic_a = op.getFloat("cubic_coeff_a", -0.75f);
  p.extrapolation = op.getFloat("extrapolation_value", 0.0f);
  p.exclude_outside = op.getInt("exclude_outside", 0) != 0;
  std::vector<double> scales(static_cast<size_t>(r), 1.0), roi;
  std::vector<int64_t> out_shape(static_cast<size_t>(r));
  bool has_scales = ctx.hasInput(2) && ctx.input(2).numel() > 0, has_sizes = ctx.hasInput(3) && ctx.input(3).numel() > 0;
  if (has_scales == has_sizes) return ctx.error("exactly one of scales and sizes must be given");
  if (has_sizes) {
    out_shape = ctx.input(3).toInt64Vector();
    if (static_cast<int>(out_shape.size()) != r) return ctx.error(str("sizes must have ", r, " values"));
    for (int d = 0; d < r; ++d) {
      size_t u = static_cast<size_t>(d);
      if (out_shape[u] < 0) return ctx.error("sizes must be non-negative");
      scales[u] = X.dim(d) == 0 ? 1.0 : static_cast<double>(out_shape[u]) / static_cast<double>(X.dim(d));
    }
  } else {
    scales = ctx.input(2).toDoubleVector();
    if (static_cast<int>(scales.size()) != r) return ctx.error(str("scales must have ", r, " values"));
    for (int d = 0; d < r; ++d) {
      size_t u = static_cast<size_t>(d);
      if (!(scales[u] > 0)) return ctx.error("scales must be positive");
      out_shape[u] = static_cast<int64_t>(std::floor(static_cast<double>(X.dim(d)) * scales[u]));
    }
  }
  if (ctx.hasInput(1) && ctx.input(1).numel() > 0) {
    roi = ctx.input(1).toDoubleVector();
    if (static_cast<int>(roi.size()) != 2 * r) return ctx.error(str("roi must have ", 2 * r, " values"));
  }
  return runResize(ctx, X, p, scales, out_shape, roi);
}

Status upsampleKernel(KernelContext& ctx) {
  const Tensor& X = ctx.input(0);
  ResizeParams p;
  p.mode = ctx.op().getString("mode", "nearest");
  if (p.mode == "bilinear" || p.mode == "trilinear") p.mode = "linear";
  p.ctm = "asymmetric";
  p.nearest_mode = "floor";
  std::vector<double> scales = ctx.input(1).toDoubleVector();
  if (static_cast<int>(scales.size()) != X.rank()) return ctx.error(str("scales must have ", X.rank(), " values"));
  std::vector<int64_t> out_shape;
  for (int d = 0; d < X.rank(); ++d) {
    if (!(scales[static_cast<size_t>(d)] > 0)) return ctx.error("scales must be positive");
    out_shape.push_back(static_cast<int64_t>(std::floor(static_cast<double>(X.dim(d)) * scales[static_cast<size_t>(d)])));
  }
  return runResize(ctx, X, p, scales, out_shape, {});
}

// GridSample's reflection of a coordinate into [lo, hi] (repeatedly, like a mirror pair).
double reflect(double x, double lo, double hi) {
  double range = hi - lo;
  if (range <= 0) return lo;
  if (x < lo) {
    double dx = lo - x;
    int64_t n = static_cast<int64_t>(dx / range);
    double rem = dx - static_cast<double>(n) * range;
    return n % 2 == 0 ? lo + rem : hi - rem;
  }
  if (x > hi) {
    double dx = x - hi;
    int64_t n = static_cast<int64_t>(dx / range);
    double rem = dx - static_cast<double>(n) * range;
    return n % 2 == 0 ? hi - rem : lo + rem;
  }
  return x;
}

Status gridSampleKernel(KernelContext& ctx) {
  const Tensor& X = ctx.input(0);
  const Tensor& grid = ctx.input(1);
  if (!isNNFloat(X.dtype())) return ctx.error("X must be a float tensor");
  if (X.rank() != 4 || grid.rank() != 4 || grid.dim(3) != 2 || grid.dim(0) != X.dim(0))
    return ctx.error("X must be [N,C,H,W] and grid [N,H_out,W_out,2]");
  const std::string mode = ctx.op().getString("mode", "bilinear"), pad = ctx.op().getString("padding_mode", "zeros");
  const bool align = ctx.op().getInt("align_corners", 0) != 0;
  if (mode != "bilinear" && mode != "nearest" && mode != "bicubic") return ctx.error(str("unknown mode '", mode, "'"));
  if (pad != "zeros" && pad != "border" && pad != "reflection") return ctx.error(str("unknown padding_mode '", pad, "'"));
  const int64_t N = X.dim(0), C = X.dim(1), H = X.dim(2), W = X.dim(3), Ho = grid.dim(1), Wo = grid.dim(2);
  std::vector<double> x = X.toDoubleVector(), g = grid.toDoubleVector();
  Tensor y(X.dtype(), {N, C, Ho, Wo});
  // Borders of the reflection: pixel centres with align_corners, pixel edges otherwise.
  const double xlo = align ? 0 : -0.5, xhi = align ? static_cast<double>(W - 1) : static_cast<double>(W) - 0.5;
  const double ylo = align ? 0 : -0.5, yhi = align ? static_cast<double>(H - 1) : static_cast<double>(H) - 0.5;
  auto denorm = [&](double v, int64_t len) {
    return align ? (v + 1) / 2 * static_cast<double>(len - 1) : ((v + 1) * static_cast<double>(len) - 1) / 2;
  };
  auto pixel = [&](const double* img, int64_t r, int64_t c) -> double {
    if (pad == "zeros") return r >= 0 && r < H && c >= 0 && c < W ? img[r * W + c] : 0.0;
    if (pad == "border") {
      r = std::min(std::max<int64_t>(r, 0), H - 1);
      c = std::min(std::max<int64_t>(c, 0), W - 1);
    } else {
      c = static_cast<int64_t>(reflect(static_cast<double>(c), xlo, xhi));
      r = static_cast<int64_t>(reflect(static_cast<double>(r), ylo, yhi));
      r = std::min(std::max<int64_t>(r, 0), H - 1);
      c = std::min(std::max<int64_t>(c, 0), W - 1);
    }
    return img[r * W + c];
  };
  for (int64_t n = 0; n < N; ++n)
    for (int64_t oh = 0; oh < Ho; ++oh)
      for (int64_t ow = 0; ow < Wo; ++ow) {
        const double* gp = g.data() + ((n * Ho + oh) * Wo + ow) * 2;
        double fx = denorm(gp[0], W), fy = denorm(gp[1], H);
        if (mode == "nearest") fx = std::nearbyint(fx), fy = std::nearbyint(fy);
        if (pad == "border") {
          fx = std::min(std::max(fx, 0.0), static_cast<double>(W - 1));
          fy = std::min(std::max(fy, 0.0), static_cast<double>(H - 1));
        } else if (pad == "reflection") {
          fx = reflect(fx, xlo, xhi);
          fy = reflect(fy, ylo, yhi);
        }
        for (int64_t c = 0; c < C; ++c) {
          const double* img = x.data() + (n * C + c) * H * W;
          double v = 0;
          if (mode == "nearest") {
            v = pixel(img, static_cast<int64_t>(std::nearbyint(fy)), static_cast<int64_t>(std::nearbyint(fx)));
          } else if (mode == "bilinear") {
            int64_t x1 = static_cast<int64_t>(std::floor(fx)), y1 = static_cast<int64_t>(std::floor(fy));
            double dx = fx - static_cast<double>(x1), dy = fy - static_cast<double>(y1);
            v = (1 - dy) * ((1 - dx) * pixel(img, y1, x1) + dx * pixel(img, y1, x1 + 1)) +
                dy * ((1 - dx) * pixel(img, y1 + 1, x1) + dx * pixel(img, y1 + 1, x1 + 1));
          } else {
            int64_t x0 = static_cast<int64_t>(std::floor(fx)) - 1, y0 = static_cast<int64_t>(std::floor(fy)) - 1;
            double cx[4], cy[4];
            cubicCoeffs(fx - std::floor(fx), -0.75, cx);
            cubicCoeffs(fy - std::floor(fy), -0.75, cy);
            for (int i = 0; i < 4; ++i) {
              double row = 0;
              for (int j = 0; j < 4; ++j) row += cx[j] * pixel(img, y0 + i, x0 + j);
              v += cy[i] * row;
            }
          }
          y.setDouble(((n * C + c) * Ho + oh) * Wo + ow, v);
        }
      }
  ctx.setOutput(0, y);
  return Status::success();
}

}  // namespace

void registerResizeKernels(KernelTable& t) {
  t[static_cast<size_t>(OpKind::Resize)] = resizeKernel;
  t[static_cast<size_t>(OpKind::Upsample)] = upsampleKernel;
  t[static_cast<size_t>(OpKind::GridSample)] = gridSampleKernel;
}

}  // namespace dlc::ref
