// Helpers for the math kernel tests: tensors of any dtype from doubles, tolerant comparisons.
#pragma once

#include <cmath>
#include <string>
#include <vector>

#include "tests/unit/op_runner.h"

namespace dlc::testing {

inline Tensor mk(DType dt, std::vector<int64_t> shape, const std::vector<double>& values) {
  Tensor t(dt, std::move(shape));
  for (size_t i = 0; i < values.size(); ++i) t.setDouble(static_cast<int64_t>(i), values[i]);
  return t;
}

inline Tensor strT(std::vector<int64_t> shape, const std::vector<std::string>& values) {
  Tensor t(DType::String, std::move(shape));
  t.strings() = values;
  return t;
}

// Relative-plus-absolute tolerance; NaN matches NaN.
inline void expectClose(const Tensor& t, const std::vector<int64_t>& shape, const std::vector<double>& expected,
                        double tol = 1e-5) {
  ASSERT_EQ(t.shape(), shape);
  ASSERT_EQ(t.numel(), static_cast<int64_t>(expected.size()));
  for (int64_t i = 0; i < t.numel(); ++i) {
    double got = t.getDouble(i), want = expected[static_cast<size_t>(i)];
    if (std::isnan(want)) {
      EXPECT_TRUE(std::isnan(got)) << "element " << i;
    } else if (std::isinf(want)) {
      EXPECT_EQ(got, want) << "element " << i;
    } else {
      EXPECT_NEAR(got, want, tol * (1.0 + std::fabs(want))) << "element " << i;
    }
  }
}

inline void expectStrings(const Tensor& t, const std::vector<int64_t>& shape, const std::vector<std::string>& expected) {
  ASSERT_EQ(t.dtype(), DType::String);
  ASSERT_EQ(t.shape(), shape);
  EXPECT_EQ(t.strings(), expected);
}

}  // namespace dlc::testing
