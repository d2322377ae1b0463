// Calibration statistics for static quantization: per-tensor ranges gathered over any number of
// samples in bounded memory, and the quantization parameters chosen from them.
#pragma once

#include <cstdint>
#include <vector>

#include "ir/dtype.h"
#include "ir/status.h"

namespace dlc::quantize {

// Streaming statistics of one tensor: min, max, and a histogram of |x| over [0, range) whose
// range doubles (merging bin pairs) when a larger value arrives, so memory stays fixed (kBins
// counts) whatever the number of samples.
class TensorStats {
 public:
  static constexpr int kBins = 2048;
  void add(const float* data, int64_t n);
  bool empty() const { return count_ == 0; }
  int64_t count() const { return count_; }
  double min() const { return min_; }
  double max() const { return max_; }
  // The smallest bin edge below which at least `percent` percent of the |x| lie (at most max |x|).
  double absPercentile(double percent) const;
  // The clipping threshold t for |x| whose `levels`-level uniform quantization of [0, t] loses the
  // least: squared error (MSE), or KL divergence between the histogram and its quantized form
  // (entropy, TensorRT's calibration). At most max |x|.
  double mseThreshold(int levels) const;
  double entropyThreshold(int levels) const;

 private:
  void grow(double abs_value);
  int64_t count_ = 0, zeros_ = 0;
  double min_ = 0, max_ = 0;
  double range_ = 0;  // the histogram covers [0, range_)
  std::vector<int64_t> bins_;
};

// Running per-channel means of a tensor over every axis but `axis` (E[x] for bias correction).
class ChannelMeans {
 public:
  void add(const float* data, const std::vector<int64_t>& shape, int axis);
  bool empty() const { return count_ == 0; }
  std::vector<double> means() const;

 private:
  std::vector<double> sums_;
  int64_t count_ = 0;  // values per channel so far
};

enum class CalibrationMethod { MinMax, Percentile, Entropy, Mse };

struct ActivationParams {
  double scale = 1.0;
  int64_t zero_point = 0;
};

// The float range [lo, hi] a tensor is quantized over, from its statistics.
void calibratedRange(const TensorStats& s, CalibrationMethod method, double percentile, double* lo, double* hi);

// Scale and zero point mapping [lo, hi] (widened to contain 0, so zero is exact) onto the integer
// range of `dtype` (u8 or i8). Symmetric: zero point at the middle (128 for u8, 0 for i8) and the
// scale covering max(|lo|, |hi|) on both sides.
ActivationParams activationParams(double lo, double hi, DType dtype, bool symmetric);

}  // namespace dlc::quantize
