// Streaming calibration statistics and the quantization parameters chosen from them.
#include "passes/quantize/calibration.h"

#include <algorithm>
#include <cmath>
#include <limits>

namespace dlc::quantize {

void ChannelMeans::add(const float* data, const std::vector<int64_t>& shape, int axis) {
  int64_t outer = 1, inner = 1;
  for (int d = 0; d < axis; ++d) outer *= shape[static_cast<size_t>(d)];
  for (size_t d = static_cast<size_t>(axis) + 1; d < shape.size(); ++d) inner *= shape[d];
  const int64_t channels = shape[static_cast<size_t>(axis)];
  if (sums_.empty()) sums_.assign(static_cast<size_t>(channels), 0.0);
  if (static_cast<int64_t>(sums_.size()) != channels) return;  // a different shape: not this tensor
  for (int64_t o = 0; o < outer; ++o)
    for (int64_t c = 0; c < channels; ++c) {
      const float* p = data + (o * channels + c) * inner;
      double s = 0;
      for (int64_t i = 0; i < inner; ++i) s += p[i];
      sums_[static_cast<size_t>(c)] += s;
    }
  count_ += outer * inner;
}

std::vector<double> ChannelMeans::means() const {
  std::vector<double> m(sums_.size(), 0.0);
  for (size_t c = 0; c < m.size(); ++c) m[c] = count_ ? sums_[c] / static_cast<double>(count_) : 0.0;
  return m;
}

void TensorStats::grow(double abs_value) {
  if (range_ == 0) {
    // The first nonzero magnitude sets the initial range; doubling keeps every bin edge aligned.
    range_ = abs_value * 1.0001;
    bins_.assign(kBins, 0);
    return;
  }
  while (abs_value >= range_) {
    for (int i = 0; i < kBins / 2; ++i) bins_[static_cast<size_t>(i)] = bins_[static_cast<size_t>(2 * i)] + bins_[static_cast<size_t>(2 * i + 1)];
    std::fill(bins_.begin() + kBins / 2, bins_.end(), 0);
    range_ *= 2;
  }
}

void TensorStats::add(const float* data, int64_t n) {
  for (int64_t i = 0; i < n; ++i) {
    const float v = data[i];
    if (std::isnan(v)) continue;
    if (count_ == 0) min_ = max_ = v;
    min_ = std::min(min_, static_cast<double>(v));
    max_ = std::max(max_, static_cast<double>(v));
    ++count_;
    const double a = std::fabs(static_cast<double>(v));
    if (a == 0) {
      ++zeros_;  // exact zeros (most of a ReLU's output) sit below every bin
      continue;
    }
    if (a >= range_) grow(a);
    ++bins_[static_cast<size_t>(std::min<double>(kBins - 1, a / range_ * kBins))];
  }
}

double TensorStats::absPercentile(double percent) const {
  const double max_abs = std::max(std::fabs(min_), std::fabs(max_));
  if (bins_.empty() || count_ == 0) return max_abs;
  const double target = percent / 100.0 * static_cast<double>(count_);
  double cumulative = static_cast<double>(zeros_);
  for (int i = 0; i < kBins; ++i) {
    cumulative += static_cast<double>(bins_[static_cast<size_t>(i)]);
    if (cumulative >= target) return std::min(max_abs, range_ * (i + 1) / kBins);
  }
  return max_abs;
}

double TensorStats::mseThreshold(int levels) const {
  const double max_abs = std::max(std::fabs(min_), std::fabs(max_));
  if (bins_.empty()) return max_abs;
  const double width = range_ / kBins;
  double best = max_abs, best_err = std::numeric_limits<double>::infinity();
  // Candidates: every 8th bin edge up to max |x| (256 candidates at most).
  for (int edge = 8; edge <= kBins; edge += 8) {
    const double t = std::min(max_abs, edge * width);
    const double step = t / (levels - 1);
    double err = 0;
    for (int i = 0; i < kBins; ++i) {
      const int64_t n = bins_[static_cast<size_t>(i)];
      if (!n) continue;
      const double c = (i + 0.5) * width;
      err += static_cast<double>(n) * (c > t ? (c - t) * (c - t) : step * step / 12);
    }
    if (err < best_err) best_err = err, best = t;
    if (t >= max_abs) break;
  }
  return best;
}

double TensorStats::entropyThreshold(int levels) const {
  const double max_abs = std::max(std::fabs(min_), std::fabs(max_));
  if (bins_.empty()) return max_abs;
  std::vector<double> hist(bins_.begin(), bins_.end());
  hist[0] += static_cast<double>(zeros_);
  int last = kBins;
  while (last > 1 && hist[static_cast<size_t>(last - 1)] == 0) --last;
  if (last <= levels) return max_abs;  // no clipping can keep more resolution than is there
  double best_kl = std::numeric_limits<double>::infinity();
  int best_i = last;
  std::vector<double> p, q;
  for (int i = levels; i <= last; i += std::max(1, (last - levels) / 256)) {
    // P: the first i bins, with everything beyond folded into the last one (clipped values).
    p.assign(hist.begin(), hist.begin() + i);
    for (int k = i; k < kBins; ++k) p[static_cast<size_t>(i - 1)] += hist[static_cast<size_t>(k)];
    // Q: P's first i bins merged into `levels` quantization bins, each spread back uniformly over
    // the nonzero bins it covers.
    q.assign(static_cast<size_t>(i), 0.0);
    for (int j = 0; j < levels; ++j) {
      const int from = j * i / levels, to = (j + 1) * i / levels;
      double sum = 0;
      int nonzero = 0;
      for (int k = from; k < to; ++k) {
        sum += hist[static_cast<size_t>(k)];
        nonzero += hist[static_cast<size_t>(k)] != 0;
      }
      for (int k = from; k < to; ++k)
        if (hist[static_cast<size_t>(k)] != 0) q[static_cast<size_t>(k)] = sum / nonzero;
    }
    double ps = 0, qs = 0;
    for (int k = 0; k < i; ++k) ps += p[static_cast<size_t>(k)], qs += q[static_cast<size_t>(k)];
    if (ps <= 0 || qs <= 0) continue;
    double kl = 0;
    for (int k = 0; k < i; ++k) {
      const double pk = p[static_cast<size_t>(k)] / ps, qk = q[static_cast<size_t>(k)] / qs;
      if (pk > 0) kl += qk > 0 ? pk * std::log(pk / qk) : pk * 20;  // a value Q cannot represent
    }
    if (kl < best_kl) best_kl = kl, best_i = i;
  }
  return std::min(max_abs, (best_i + 0.5) * range_ / kBins);
}

void calibratedRange(const TensorStats& s, CalibrationMethod method, double percentile, double* lo, double* hi) {
  *lo = s.min();
  *hi = s.max();
  // Levels over [0, t]: all 256 for a non-negative tensor, half of them on each side otherwise.
  const int levels = s.min() >= 0 ? 256 : 128;
  double t = std::numeric_limits<double>::infinity();
  if (method == CalibrationMethod::Percentile) t = s.absPercentile(percentile);
  if (method == CalibrationMethod::Mse) t = s.mseThreshold(levels);
  if (method == CalibrationMethod::Entropy) t = s.entropyThreshold(levels);
  *lo = std::max(*lo, -t);
  *hi = std::min(*hi, t);
}

ActivationParams activationParams(double lo, double hi, DType dtype, bool symmetric) {
  const double qmin = dtype == DType::I8 ? -128 : 0, qmax = dtype == DType::I8 ? 127 : 255;
  lo = std::min(lo, 0.0);
  hi = std::max(hi, 0.0);
  ActivationParams p;
  if (symmetric) {
    double a = std::max(-lo, hi);
    p.zero_point = dtype == DType::I8 ? 0 : 128;
    p.scale = a > 0 ? 2 * a / (qmax - qmin) : 1.0;
    return p;
  }
  if (hi - lo <= 0) return p;
  p.scale = (hi - lo) / (qmax - qmin);
  p.zero_point = static_cast<int64_t>(std::min(qmax, std::max(qmin, std::nearbyint(qmin - lo / p.scale))));
  return p;
}

}  // namespace dlc::quantize
