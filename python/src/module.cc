// The `dlc._core` extension module: the compiler, runtime and subcommands of dlc in-process, for
// the pure-Python `dlc` package (python/dlc/) that users import.
#include "python/src/bindings.h"

namespace dlc::python {

py::dtype numpyDtype(DType t) {
  switch (t) {
    case DType::F32: case DType::BF16: return py::dtype("float32");
    case DType::F16: return py::dtype("float16");
    case DType::F64: return py::dtype("float64");
    case DType::I8: return py::dtype("int8");
    case DType::U8: return py::dtype("uint8");
    case DType::I16: return py::dtype("int16");
    case DType::U16: return py::dtype("uint16");
    case DType::I32: return py::dtype("int32");
    case DType::U32: return py::dtype("uint32");
    case DType::I64: return py::dtype("int64");
    case DType::U64: return py::dtype("uint64");
    case DType::Bool: return py::dtype("bool");
    default: throw Error(std::string("NumPy has no dtype for dlc's ") + dtypeName(t));
  }
}

std::optional<DType> dtypeOfNumpy(const py::dtype& d) {
  // By kind and size rather than by name: 'long' and 'longlong' are both int64 on Linux.
  const char kind = d.kind();
  const auto size = d.itemsize();
  if (kind == 'f') return size == 4 ? DType::F32 : size == 8 ? DType::F64 : size == 2 ? std::optional(DType::F16) : std::nullopt;
  if (kind == 'i') return size == 1 ? DType::I8 : size == 2 ? DType::I16 : size == 4 ? DType::I32 : size == 8 ? std::optional(DType::I64) : std::nullopt;
  if (kind == 'u') return size == 1 ? DType::U8 : size == 2 ? DType::U16 : size == 4 ? DType::U32 : size == 8 ? std::optional(DType::U64) : std::nullopt;
  if (kind == 'b') return DType::Bool;
  return std::nullopt;
}

py::tuple describeType(const std::string& name, const Type& type) {
  py::list dims;
  for (const Dim& d : type.shape.dims) {
    if (d.isStatic()) dims.append(d.value);
    else if (d.isSymbolic()) dims.append(d.symbol);
    else dims.append(py::none());
  }
  py::object shape = type.shape.ranked ? py::object(py::tuple(dims)) : py::object(py::none());
  std::string dtype = type.isTensor() ? dtypeName(type.dtype) : type.toString();
  return py::make_tuple(name, dtype, shape);
}

}  // namespace dlc::python

PYBIND11_MODULE(_core, m) {
  using namespace dlc::python;
  m.doc() = "dlc's compiler, runtime and subcommands (use the `dlc` package, not this module)";
  py::register_exception<Error>(m, "Error", PyExc_RuntimeError);
  bindGraph(m);
  bindRuntime(m);
  bindCommands(m);
  bindBuilder(m);
}
