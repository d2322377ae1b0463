// Calibration statistics (passes/quantize/calibration.h): streaming ranges in bounded memory,
// percentiles, and the clipping thresholds of the mse and entropy methods, on distributions
// whose answers are known.
#include <gtest/gtest.h>

#include <cmath>
#include <random>
#include <vector>

#include "passes/quantize/calibration.h"

namespace dlc::quantize {
namespace {

TEST(Calibration, RangeAndPercentileOverGrowingRange) {
  // 1..10000 arriving in increasing order: the histogram's range doubles many times.
  TensorStats s;
  for (int i = 1; i <= 10000; ++i) {
    float v = static_cast<float>(i) * (i % 2 ? 1.0f : -1.0f);
    s.add(&v, 1);
  }
  EXPECT_EQ(s.count(), 10000);
  EXPECT_EQ(s.min(), -10000.0);
  EXPECT_EQ(s.max(), 9999.0);
  // |x| is uniform on 1..10000: its p-th percentile is 100·p; bins are at most 16384/2048 = 8 wide.
  EXPECT_NEAR(s.absPercentile(50), 5000, 8);
  EXPECT_NEAR(s.absPercentile(99), 9900, 8);
  EXPECT_EQ(s.absPercentile(100), 10000);
  double lo, hi;
  calibratedRange(s, CalibrationMethod::Percentile, 99, &lo, &hi);
  EXPECT_NEAR(lo, -9900, 8);
  EXPECT_NEAR(hi, 9900, 8);
}

TEST(Calibration, ZerosAndNaNs) {
  // A ReLU output: mostly zeros, NaNs ignored.
  std::vector<float> v(1000, 0.0f);
  for (int i = 0; i < 100; ++i) v[static_cast<size_t>(i)] = static_cast<float>(i + 1) / 100.0f;
  v.push_back(std::nanf(""));
  TensorStats s;
  s.add(v.data(), static_cast<int64_t>(v.size()));
  EXPECT_EQ(s.count(), 1000);
  EXPECT_EQ(s.min(), 0.0);
  EXPECT_NEAR(s.max(), 1.0, 1e-6);
  EXPECT_LE(s.absPercentile(90), 1e-3);  // 90% of the values are exactly 0
  ActivationParams p = activationParams(0, 1, DType::U8, false);
  EXPECT_EQ(p.zero_point, 0);
  EXPECT_NEAR(p.scale, 1.0 / 255, 1e-12);
}

// The squared error of quantizing `data` symmetrically to int8 with clipping threshold t.
double quantizationError(const std::vector<float>& data, double t) {
  const double step = t / 127;
  double err = 0;
  for (float v : data) {
    double q = std::max(-127.0, std::min(127.0, std::nearbyint(v / step))) * step;
    err += (v - q) * (v - q);
  }
  return err;
}

TEST(Calibration, ClippingMethods) {
  // 100,000 N(0, 1) values and 5 at ±100. Entropy clips near the bulk (KL divergence counts how
  // many values move, not how far); mse picks the threshold whose squared error is smallest, here
  // keeping the outliers (5 clipped by ~96 cost more than the coarser step over the bulk).
  std::mt19937 rng(0);
  std::normal_distribution<float> n(0.0f, 1.0f);
  std::vector<float> data;
  for (int i = 0; i < 100000; ++i) data.push_back(n(rng));
  for (float v : {100.0f, -100.0f, 100.0f, -100.0f, 100.0f}) data.push_back(v);
  TensorStats s;
  s.add(data.data(), static_cast<int64_t>(data.size()));
  double lo, hi;
  calibratedRange(s, CalibrationMethod::MinMax, 0, &lo, &hi);
  EXPECT_EQ(hi, 100.0);
  calibratedRange(s, CalibrationMethod::Entropy, 0, &lo, &hi);
  EXPECT_GT(hi, 2.5);  // not clipping the bulk
  EXPECT_LT(hi, 12.0);
  EXPECT_NEAR(lo, -hi, 1e-9);
  calibratedRange(s, CalibrationMethod::Mse, 0, &lo, &hi);
  const double chosen = quantizationError(data, hi);
  for (double t : {3.0, 4.0, 6.0, 10.0, 30.0, 60.0, 100.0}) EXPECT_LE(chosen, 1.02 * quantizationError(data, t)) << "t = " << t;

  // Without the outliers' weight (one in 10^6 at 10), mse clips: the step over the bulk matters more.
  std::vector<float> bulk(data.begin(), data.begin() + 100000);
  for (int i = 0; i < 1000000; ++i) bulk.push_back(n(rng));
  bulk.push_back(10.0f);
  TensorStats b;
  b.add(bulk.data(), static_cast<int64_t>(bulk.size()));
  calibratedRange(b, CalibrationMethod::Mse, 0, &lo, &hi);
  EXPECT_LT(hi, 9.0);
  const double clipped = quantizationError(bulk, hi);
  for (double t : {3.0, 4.0, 6.0, 10.0}) EXPECT_LE(clipped, 1.02 * quantizationError(bulk, t)) << "t = " << t;
}

TEST(Calibration, ActivationParams) {
  ActivationParams a = activationParams(-1.0, 3.0, DType::U8, false);
  EXPECT_NEAR(a.scale, 4.0 / 255, 1e-12);
  EXPECT_EQ(a.zero_point, 64);  // round(1 / (4/255)) = round(63.75)
  ActivationParams s = activationParams(-1.0, 3.0, DType::I8, true);
  EXPECT_EQ(s.zero_point, 0);
  EXPECT_NEAR(s.scale, 6.0 / 255, 1e-12);
  ActivationParams u = activationParams(-1.0, 3.0, DType::U8, true);
  EXPECT_EQ(u.zero_point, 128);
  ActivationParams z = activationParams(0.0, 0.0, DType::U8, false);  // a constant-zero tensor
  EXPECT_EQ(z.scale, 1.0);
  EXPECT_EQ(z.zero_point, 0);
  ActivationParams pos = activationParams(2.0, 3.0, DType::U8, false);  // the range always holds 0
  EXPECT_EQ(pos.zero_point, 0);
  EXPECT_NEAR(pos.scale, 3.0 / 255, 1e-12);
}

}  // namespace
}  // namespace dlc::quantize
