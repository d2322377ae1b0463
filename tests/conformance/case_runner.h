// One ONNX backend-test case on the reference backend: import, feed the .pb inputs, compare outputs.
#pragma once

#include <string>

#include "ir/data_value.h"

namespace dlc::conformance {

// Tolerances of ONNX's backend test runner (numpy.testing.assert_allclose).
struct Tolerance {
  double rtol = 1e-3;
  double atol = 1e-7;
};

// Compares `actual` with `expected` like ONNX's runner: same dtype and shape, floats within
// |a - e| <= atol + rtol * |e| (NaN equals NaN), everything else exact, sequences element-wise.
// Returns an empty string when they match, otherwise a one-line description of the mismatch.
std::string compareValues(const DataValue& expected, const DataValue& actual, const Tolerance& tol);

// Runs every test_data_set_* of the case folder `case_dir` (model.onnx + input_N.pb/output_N.pb).
// With `export_opset` (13..17; 0 = none), the imported model is exported to ONNX bytes at that
// opset and imported again, and that copy is run. Returns an empty string on success, otherwise a one-line reason. Runs in the
// calling process: the caller isolates it (fork) because a kernel bug may crash or hang.
std::string runCase(const std::string& case_dir, const Tolerance& tol, int export_opset = 0);

}  // namespace dlc::conformance
