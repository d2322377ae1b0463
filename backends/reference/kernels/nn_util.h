// Helpers shared by the nn reference kernels: float compute types, window geometry, registration.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <string>
#include <vector>

#include "backends/reference/kernel.h"
#include "ir/tensor.h"

namespace dlc::ref {

void registerConvKernels(KernelTable& table);
void registerPoolKernels(KernelTable& table);
void registerNormalizationKernels(KernelTable& table);
void registerRnnKernels(KernelTable& table);
void registerResizeKernels(KernelTable& table);
void registerDetectionKernels(KernelTable& table);
void registerLossKernels(KernelTable& table);
void registerActivationGradKernels(KernelTable& table);
void registerBatchNormTrainingKernels(KernelTable& table);

// f16/bf16 are computed in f32 (cast up, compute, cast back); f32 and f64 in themselves.
inline bool isNNFloat(DType t) { return t == DType::F32 || t == DType::F64 || t == DType::F16 || t == DType::BF16; }
inline DType computeDType(DType t) { return t == DType::F64 ? DType::F64 : DType::F32; }
inline Tensor toCompute(const Tensor& t) {
  DType c = computeDType(t.dtype());
  return t.dtype() == c ? t : t.castTo(c);
}
inline Tensor fromCompute(const Tensor& t, DType want) { return t.dtype() == want ? t : t.castTo(want); }

// Runs BODY with T = double for f64 and T = float otherwise.
#define DLC_NN_FLOAT_DISPATCH(dtype, T, ...) \
  if ((dtype) == ::dlc::DType::F64) {        \
    using T = double;                        \
    __VA_ARGS__;                             \
  } else {                                   \
    using T = float;                         \
    __VA_ARGS__;                             \
  }

// Sliding-window geometry of Conv and the pools, lifted to three spatial dims (leading dims of
// size 1) so one loop nest serves 1-D, 2-D and 3-D.
struct Window {
  int nsp = 0;  // real number of spatial dims
  int64_t in[3] = {1, 1, 1}, out[3] = {1, 1, 1}, k[3] = {1, 1, 1}, s[3] = {1, 1, 1}, d[3] = {1, 1, 1};
  int64_t pb[3] = {0, 0, 0}, pe[3] = {0, 0, 0};
  int64_t inSize() const { return in[0] * in[1] * in[2]; }
  int64_t outSize() const { return out[0] * out[1] * out[2]; }
  int64_t kSize() const { return k[0] * k[1] * k[2]; }
  std::vector<int64_t> outDims() const {
    return std::vector<int64_t>(out + 3 - nsp, out + 3);
  }
};

// Fills `w` from the op's auto_pad/pads/strides/dilations attributes (dilations only when
// `use_dilations`). `ceil_mode` applies the pools' rule, dropping a last window that would start
// inside the end padding.
inline Status computeWindow(const KernelContext& ctx, const std::vector<int64_t>& in_spatial,
                            const std::vector<int64_t>& kernel, bool use_dilations, bool ceil_mode, Window* w) {
  const Op& op = ctx.op();
  int n = static_cast<int>(in_spatial.size());
  if (n < 1 || n > 3) return ctx.error(str("supports 1 to 3 spatial dims, got ", n));
  if (static_cast<int>(kernel.size()) != n)
    return ctx.error(str("kernel has ", kernel.size(), " dims for ", n, " spatial dims"));
  std::vector<int64_t> strides = op.getInts("strides"), dil = use_dilations ? op.getInts("dilations") : std::vector<int64_t>{},
                       pads = op.getInts("pads");
  if (strides.empty()) strides.assign(static_cast<size_t>(n), 1);
  if (dil.empty()) dil.assign(static_cast<size_t>(n), 1);
  if (static_cast<int>(strides.size()) != n || static_cast<int>(dil.size()) != n)
    return ctx.error("strides/dilations must have one value per spatial dim");
  std::string auto_pad = op.getString("auto_pad", "NOTSET");
  if (pads.empty()) pads.assign(static_cast<size_t>(2 * n), 0);
  if (static_cast<int>(pads.size()) != 2 * n) return ctx.error("pads must have two values per spatial dim");
  w->nsp = n;
  for (int i = 0; i < n; ++i) {
    int j = 3 - n + i;
    size_t u = static_cast<size_t>(i);
    w->in[j] = in_spatial[u];
    w->k[j] = kernel[u];
    w->s[j] = strides[u];
    w->d[j] = dil[u];
    if (w->k[j] < 1 || w->s[j] < 1 || w->d[j] < 1) return ctx.error("kernel, strides and dilations must be positive");
    int64_t ek = (w->k[j] - 1) * w->d[j] + 1;
    if (auto_pad == "SAME_UPPER" || auto_pad == "SAME_LOWER") {
      w->out[j] = (w->in[j] + w->s[j] - 1) / w->s[j];
      int64_t total = std::max<int64_t>(0, (w->out[j] - 1) * w->s[j] + ek - w->in[j]);
      w->pb[j] = auto_pad == "SAME_UPPER" ? total / 2 : total - total / 2;
      w->pe[j] = total - w->pb[j];
      continue;
    }
    if (auto_pad == "VALID") {
      w->pb[j] = w->pe[j] = 0;
    } else if (auto_pad == "NOTSET") {
      w->pb[j] = pads[u];
      w->pe[j] = pads[u + static_cast<size_t>(n)];
      if (w->pb[j] < 0 || w->pe[j] < 0) return ctx.error("pads must be non-negative");
    } else {
      return ctx.error(str("unknown auto_pad '", auto_pad, "'"));
    }
    int64_t span = w->in[j] + w->pb[j] + w->pe[j] - ek;
    if (span < 0) return ctx.error(str("kernel extent ", ek, " exceeds padded input size ", w->in[j] + w->pb[j] + w->pe[j]));
    if (ceil_mode) {
      w->out[j] = (span + w->s[j] - 1) / w->s[j] + 1;
      if ((w->out[j] - 1) * w->s[j] >= w->in[j] + w->pb[j]) --w->out[j];
    } else {
      w->out[j] = span / w->s[j] + 1;
    }
  }
  return Status::success();
}

// The tensor's dims from `from` on, as a vector.
inline std::vector<int64_t> dimsFrom(const Tensor& t, int from) {
  return std::vector<int64_t>(t.shape().begin() + from, t.shape().end());
}

inline int64_t product(const std::vector<int64_t>& v, size_t from = 0, size_t to = SIZE_MAX) {
  to = std::min(to, v.size());
  int64_t p = 1;
  for (auto it = v.begin() + static_cast<std::ptrdiff_t>(std::min(from, to)); it != v.begin() + static_cast<std::ptrdiff_t>(to); ++it) p *= *it;
  return p;
}

// Element values of `t` (broadcast numpy-style to `shape`) as T, for small per-channel operands.
template <typename T>
std::vector<T> broadcastValues(const Tensor& t, const std::vector<int64_t>& shape) {
  std::vector<T> out(static_cast<size_t>(product(shape)));
  int r = static_cast<int>(shape.size()), tr = t.rank();
  std::vector<int64_t> tstride(static_cast<size_t>(r), 0);
  int64_t st = 1;
  for (int i = tr - 1; i >= 0; --i) {
    int j = r - tr + i;
    if (j >= 0 && t.dim(i) != 1) tstride[static_cast<size_t>(j)] = st;
    st *= t.dim(i);
  }
  std::vector<int64_t> idx(static_cast<size_t>(r), 0);
  for (size_t e = 0; e < out.size(); ++e) {
    int64_t off = 0;
    for (int i = 0; i < r; ++i) off += idx[static_cast<size_t>(i)] * tstride[static_cast<size_t>(i)];
    out[e] = static_cast<T>(t.getDouble(off));
    for (int i = r - 1; i >= 0; --i) {
      if (++idx[static_cast<size_t>(i)] < shape[static_cast<size_t>(i)]) break;
      idx[static_cast<size_t>(i)] = 0;
    }
  }
  return out;
}

// True when `t` can broadcast to `shape` (numpy rules, one direction).
inline bool broadcastsTo(const Tensor& t, const std::vector<int64_t>& shape) {
  if (t.rank() > static_cast<int>(shape.size())) return false;
  for (int i = 0; i < t.rank(); ++i) {
    int64_t a = t.dim(t.rank() - 1 - i), b = shape[shape.size() - 1 - static_cast<size_t>(i)];
    if (a != 1 && a != b) return false;
  }
  return true;
}

}  // namespace dlc::ref
