// Reference kernels: Hann/Hamming/Blackman windows, DFT, STFT and MelWeightMatrix (opset 17).
#include <cmath>
#include <complex>

#include "backends/reference/kernels/broadcast.h"
#include "backends/reference/kernels/math_family.h"
#include "ir/dtype_onnx.h"

namespace dlc::ref {
namespace {

constexpr double kPi = 3.14159265358979323846;

Expected<DType> outputDType(KernelContext& ctx) {
  auto d = dtypeFromOnnxCode(ctx.op().getInt("output_datatype", 1));
  if (!d || *d == DType::String) return ctx.error("unsupported output_datatype");
  return *d;
}

// Cosine-sum window: a0 - a1 cos(2πn/D) + a2 cos(4πn/D), D = N (periodic) or N - 1 (symmetric).
Status window(KernelContext& ctx, double a0, double a1, double a2) {
  if (ctx.input(0).numel() != 1) return ctx.error("size must be a scalar");
  const int64_t n = ctx.input(0).getInt(0);
  if (n < 0) return ctx.error("size must be >= 0");
  DLC_ASSIGN_OR_RETURN(DType dt, outputDType(ctx));
  const double denom = ctx.op().getInt("periodic", 1) != 0 ? static_cast<double>(n) : static_cast<double>(n - 1);
  Tensor y(dt, {n});
  for (int64_t i = 0; i < n; ++i) {
    double t = denom > 0 ? 2.0 * kPi * static_cast<double>(i) / denom : 0.0;
    y.setDouble(i, a0 - a1 * std::cos(t) + a2 * std::cos(2.0 * t));
  }
  ctx.setOutput(0, std::move(y));
  return Status::success();
}
Status kHannWindow(KernelContext& ctx) { return window(ctx, 0.5, 0.5, 0.0); }
Status kHammingWindow(KernelContext& ctx) { return window(ctx, 25.0 / 46.0, 21.0 / 46.0, 0.0); }
Status kBlackmanWindow(KernelContext& ctx) { return window(ctx, 0.42, 0.5, 0.08); }

// Direct O(L^2) transform of `len` complex samples spaced `stride` apart; `out_len` bins.
void dft1d(const std::complex<double>* in, int64_t in_len, int64_t stride, int64_t len, int64_t out_len, bool inverse,
           std::complex<double>* out, int64_t out_stride) {
  const double sign = inverse ? 1.0 : -1.0;
  for (int64_t k = 0; k < out_len; ++k) {
    std::complex<double> acc = 0;
    for (int64_t t = 0; t < std::min(len, in_len); ++t) {
      double ang = sign * 2.0 * kPi * static_cast<double>((k * t) % len) / static_cast<double>(len);
      acc += in[t * stride] * std::complex<double>(std::cos(ang), std::sin(ang));
    }
    out[k * out_stride] = inverse ? acc / static_cast<double>(len) : acc;
  }
}

// Reads a [..., 1|2] real-or-complex tensor into complex values.
std::vector<std::complex<double>> toComplex(const Tensor& x) {
  const int64_t c = x.dim(x.rank() - 1);
  std::vector<std::complex<double>> v(static_cast<size_t>(x.numel() / c));
  for (size_t i = 0; i < v.size(); ++i)
    v[i] = {x.getDouble(static_cast<int64_t>(i) * c), c == 2 ? x.getDouble(static_cast<int64_t>(i) * 2 + 1) : 0.0};
  return v;
}

Status kDFT(KernelContext& ctx) {
  const Tensor& x = ctx.input(0);
  if (!isFloat(x.dtype())) return ctx.error("input must be floating point");
  if (x.rank() < 2 || (x.dim(x.rank() - 1) != 1 && x.dim(x.rank() - 1) != 2))
    return ctx.error("input must be [batch, ..., 1 or 2]");
  int axis = 0;
  if (!normalizeAxisIn(ctx.op().getInt("axis", 1), x.rank() - 1, &axis) || axis == 0)
    return ctx.error("axis must name a signal dimension (not the batch or the last)");
  const int64_t sig_len = x.dim(axis);
  int64_t len = sig_len;
  if (ctx.hasInput(1)) len = ctx.input(1).getInt(0);
  if (len <= 0) return ctx.error("dft_length must be positive");
  bool inverse = ctx.op().getInt("inverse", 0) != 0, onesided = ctx.op().getInt("onesided", 0) != 0;
  const int64_t out_len = onesided ? len / 2 + 1 : len;
  std::vector<int64_t> cshape(x.shape().begin(), x.shape().end() - 1);
  std::vector<int64_t> oshape = cshape;
  oshape[static_cast<size_t>(axis)] = out_len;
  AxisSplit in_s = splitAt(cshape, axis), out_s = splitAt(oshape, axis);
  std::vector<std::complex<double>> in = toComplex(x), out(static_cast<size_t>(numElements(oshape)));
  for (int64_t o = 0; o < in_s.outer; ++o)
    for (int64_t i = 0; i < in_s.inner; ++i)
      dft1d(in.data() + o * in_s.dim * in_s.inner + i, sig_len, in_s.inner, len, out_len, inverse,
            out.data() + o * out_s.dim * out_s.inner + i, out_s.inner);
  oshape.push_back(2);
  Tensor y(x.dtype(), oshape);
  for (size_t i = 0; i < out.size(); ++i) {
    y.setDouble(static_cast<int64_t>(2 * i), out[i].real());
    y.setDouble(static_cast<int64_t>(2 * i + 1), out[i].imag());
  }
  ctx.setOutput(0, std::move(y));
  return Status::success();
}

// STFT: signal [batch, length, 1|2] -> [batch, frames, bins, 2]; frames advance by frame_step.
Status kSTFT(KernelContext& ctx) {
  const Tensor& x = ctx.input(0);
  if (!isFloat(x.dtype()) || x.rank() != 3 || (x.dim(2) != 1 && x.dim(2) != 2))
    return ctx.error("signal must be a float [batch, length, 1 or 2] tensor");
  const int64_t step = ctx.input(1).getInt(0);
  const Tensor* win = ctx.hasInput(2) ? &ctx.input(2) : nullptr;
  int64_t flen = win ? win->numel() : -1;
  if (ctx.hasInput(3)) flen = ctx.input(3).getInt(0);
  if (flen <= 0) return ctx.error("frame_length or window is required");
  if (win && win->numel() != flen) return ctx.error("window length must equal frame_length");
  if (step <= 0) return ctx.error("frame_step must be positive");
  const int64_t batch = x.dim(0), sig = x.dim(1);
  if (sig < flen) return ctx.error("signal is shorter than one frame");
  const int64_t frames = (sig - flen) / step + 1;
  const bool onesided = ctx.op().getInt("onesided", 1) != 0;
  const int64_t bins = onesided ? flen / 2 + 1 : flen;
  std::vector<std::complex<double>> in = toComplex(x), frame(static_cast<size_t>(flen)), out(static_cast<size_t>(bins));
  Tensor y(x.dtype(), {batch, frames, bins, 2});
  for (int64_t b = 0; b < batch; ++b)
    for (int64_t f = 0; f < frames; ++f) {
      for (int64_t t = 0; t < flen; ++t)
        frame[static_cast<size_t>(t)] = in[static_cast<size_t>(b * sig + f * step + t)] * (win ? win->getDouble(t) : 1.0);
      dft1d(frame.data(), flen, 1, flen, bins, false, out.data(), 1);
      for (int64_t k = 0; k < bins; ++k) {
        int64_t at = ((b * frames + f) * bins + k) * 2;
        y.setDouble(at, out[static_cast<size_t>(k)].real());
        y.setDouble(at + 1, out[static_cast<size_t>(k)].imag());
      }
    }
  ctx.setOutput(0, std::move(y));
  return Status::success();
}

// Triangular mel filters over the spectrogram bins, following the ONNX reference's integer binning.
Status kMelWeightMatrix(KernelContext& ctx) {
  const int64_t mel_bins = ctx.input(0).getInt(0), dft_len = ctx.input(1).getInt(0), rate = ctx.input(2).getInt(0);
  const double lo_hz = ctx.input(3).getDouble(0), hi_hz = ctx.input(4).getDouble(0);
  if (mel_bins <= 0 || dft_len <= 0 || rate <= 0) return ctx.error("num_mel_bins, dft_length and sample_rate must be positive");
  DLC_ASSIGN_OR_RETURN(DType dt, outputDType(ctx));
  const int64_t spec_bins = dft_len / 2 + 1;
  const double lo_mel = 2595.0 * std::log10(1.0 + lo_hz / 700.0), hi_mel = 2595.0 * std::log10(1.0 + hi_hz / 700.0);
  const double step = (hi_mel - lo_mel) / static_cast<double>(mel_bins + 2);
  std::vector<int64_t> fb(static_cast<size_t>(mel_bins + 2));
  for (int64_t i = 0; i < mel_bins + 2; ++i) {
    double hz = 700.0 * (std::pow(10.0, (static_cast<double>(i) * step + lo_mel) / 2595.0) - 1.0);
    fb[static_cast<size_t>(i)] = static_cast<int64_t>(std::floor(static_cast<double>(dft_len + 1) * hz / static_cast<double>(rate)));
  }
  Tensor y(dt, {spec_bins, mel_bins});
  auto set = [&](int64_t j, int64_t i, double v) {
    if (j >= 0 && j < spec_bins) y.setDouble(j * mel_bins + i, v);
  };
  for (int64_t i = 0; i < mel_bins; ++i) {
    int64_t lo = fb[static_cast<size_t>(i)], c = fb[static_cast<size_t>(i + 1)], hi = fb[static_cast<size_t>(i + 2)];
    if (c == lo) {
      set(c, i, 1.0);
    } else {
      for (int64_t j = lo; j <= c; ++j) set(j, i, static_cast<double>(j - lo) / static_cast<double>(c - lo));
    }
    if (hi > c)
      for (int64_t j = c; j < hi; ++j) set(j, i, static_cast<double>(hi - j) / static_cast<double>(hi - c));
  }
  ctx.setOutput(0, std::move(y));
  return Status::success();
}

}  // namespace

void registerSignalKernels(KernelTable& table) {
  table[static_cast<size_t>(OpKind::HannWindow)] = &kHannWindow;
  table[static_cast<size_t>(OpKind::HammingWindow)] = &kHammingWindow;
  table[static_cast<size_t>(OpKind::BlackmanWindow)] = &kBlackmanWindow;
  table[static_cast<size_t>(OpKind::DFT)] = &kDFT;
  table[static_cast<size_t>(OpKind::STFT)] = &kSTFT;
  table[static_cast<size_t>(OpKind::MelWeightMatrix)] = &kMelWeightMatrix;
}

}  // namespace dlc::ref
