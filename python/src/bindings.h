// Shared pieces of the `dlc._core` extension: the exception every failure raises, dtype
// conversions between dlc and NumPy, and the functions that register each part of the module.
#pragma once

#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <optional>
#include <stdexcept>
#include <string>

#include "ir/dtype.h"
#include "ir/status.h"
#include "ir/type.h"

namespace dlc::python {

namespace py = pybind11;

// Raised to Python as dlc.Error, carrying dlc's one-line message.
struct Error : std::runtime_error {
  using std::runtime_error::runtime_error;
};

// The value of `e`, or dlc.Error with its message.
template <typename T>
T valueOr(Expected<T> e) {
  if (!e.ok()) throw Error(e.status().message());
  return std::move(*e);
}
inline void check(const Status& s) {
  if (!s.ok()) throw Error(s.message());
}

// NumPy's dtype for a dlc element type (bf16 has none: it is given and returned as float32).
py::dtype numpyDtype(DType t);
// The dlc element type of a NumPy dtype, or nothing for ones dlc has no equivalent of.
std::optional<DType> dtypeOfNumpy(const py::dtype& d);
// A signature entry as Python sees it: (name, dtype name, shape) with symbolic dims as their
// names and unknown ones as None.
py::tuple describeType(const std::string& name, const Type& type);

void bindGraph(py::module_& m);
void bindRuntime(py::module_& m);
void bindCommands(py::module_& m);
void bindBuilder(py::module_& m);

}  // namespace dlc::python
