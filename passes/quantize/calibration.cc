// Streaming calibration statistics and the quantization parameters chosen from them.
#include "passes/quantize/calibration.h"

#include <algorithm>
#include <cmath>

namespace dlc::quantize {

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

void calibratedRange(const TensorStats& s, CalibrationMethod method, double percentile, double* lo, double* hi) {
  *lo = s.min();
  *hi = s.max();
  if (method == CalibrationMethod::Percentile) {
    double t = s.absPercentile(percentile);
    *lo = std::max(*lo, -t);
    *hi = std::min(*hi, t);
  }
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
