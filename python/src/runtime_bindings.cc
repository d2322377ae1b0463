// dlc._core.Artifact and Session: a compiled .dlc model run through libdlcrt with NumPy arrays.
// Inputs are bound in place (zero-copy) when they are C-contiguous arrays of the signature's dtype;
// outputs are copied into new arrays, since the session's buffers are reused by the next run.
#include <algorithm>
#include <cstring>
#include <fstream>
#include <memory>
#include <sstream>
#include <vector>

#include "ir/dtype_onnx.h"
#include "python/src/bindings.h"
#include "tools/artifact.h"
#include "tools/cli.h"

namespace dlc::python {
namespace {

// A loaded artifact. From a file it is memory-mapped and its path kept; from bytes, the bytes are
// kept so that save() can write them.
struct Artifact {
  std::unique_ptr<runtime::Model> model;
  std::string path, bytes;

  static std::shared_ptr<Artifact> fromFile(const std::string& path) {
    auto a = std::make_shared<Artifact>();
    py::gil_scoped_release unlocked;
    a->model = valueOr(cli::loadArtifact(path));
    a->path = path;
    return a;
  }
  static std::shared_ptr<Artifact> fromBytes(const py::bytes& data) {
    auto a = std::make_shared<Artifact>();
    a->bytes = std::string(data);
    py::gil_scoped_release unlocked;
    a->model = valueOr(cli::loadArtifactBytes(a->bytes));
    return a;
  }
  std::string contents() const {
    if (!path.empty()) {
      std::ifstream in(path, std::ios::binary);
      std::stringstream ss;
      ss << in.rdbuf();
      if (!in) throw Error("cannot read '" + path + "'");
      return ss.str();
    }
    return bytes;
  }
  void save(const std::string& out) const { check(cli::writeFileAtomically(out, contents())); }
};
using ArtifactPtr = std::shared_ptr<Artifact>;

py::list signature(const runtime::Model& model, bool inputs) {
  py::list out;
  if (inputs) {
    for (size_t i : cli::callerInputs(model)) {
      dlc_tensor_info info = model.input(i);
      out.append(describeType(info.name, cli::typeOf(info)));
    }
  } else {
    for (size_t i = 0; i < model.outputCount(); ++i) {
      dlc_tensor_info info = model.output(i);
      out.append(describeType(info.name, cli::typeOf(info)));
    }
  }
  return out;
}

py::dict stats(const runtime::Model& model) {
  dlc_model_stats s;
  dlc_model_stats_get(model.get(), &s);
  py::dict d;
  d["steps"] = s.steps;
  d["values"] = s.values;
  d["weights"] = s.weights;
  d["weight_bytes"] = s.weight_bytes;
  d["arena_bytes"] = s.arena_bytes;
  d["native_code_bytes"] = s.native_code_bytes;
  return d;
}

// bf16 has no NumPy dtype: float32 arrays are rounded to it (and bf16 results widened back).
py::array toBf16(const py::array& a) {
  py::array_t<float, py::array::c_style | py::array::forcecast> f(a);
  py::array_t<uint16_t> out(std::vector<py::ssize_t>(f.shape(), f.shape() + f.ndim()));
  const float* src = f.data();
  uint16_t* dst = out.mutable_data();
  for (py::ssize_t i = 0; i < f.size(); ++i) dst[i] = floatToBFloat16(src[i]);
  return std::move(out);
}

class Session {
 public:
  Session(ArtifactPtr artifact, int threads, bool profile)
      : artifact_(std::move(artifact)), session_(makeSession(*artifact_->model, threads, profile)),
        inputs_(cli::callerInputs(*artifact_->model)) {}

  // `feeds`: a dict by input name, a list in signature order, or one array for one input.
  py::dict run(const py::object& feeds) {
    const runtime::Model& model = *artifact_->model;
    std::vector<py::object> given(inputs_.size());
    if (py::isinstance<py::dict>(feeds)) {
      py::dict d = feeds.cast<py::dict>();
      std::vector<std::string> names;
      for (size_t k = 0; k < inputs_.size(); ++k) names.push_back(model.input(inputs_[k]).name);
      for (auto item : d) {
        std::string name = py::str(item.first);
        auto it = std::find(names.begin(), names.end(), name);
        if (it == names.end()) throw Error("the model has no input '" + name + "' (inputs: " + join(names) + ")");
        given[static_cast<size_t>(it - names.begin())] = py::reinterpret_borrow<py::object>(item.second);
      }
      for (size_t k = 0; k < names.size(); ++k)
        if (!given[k]) throw Error("input '" + names[k] + "' is not given");
    } else if (py::isinstance<py::list>(feeds) || py::isinstance<py::tuple>(feeds)) {
      py::sequence s = feeds.cast<py::sequence>();
      if (s.size() != inputs_.size())
        throw Error(str("the model takes ", inputs_.size(), " inputs, ", s.size(), " given"));
      for (size_t k = 0; k < inputs_.size(); ++k) given[k] = s[k];
    } else {
      if (inputs_.size() != 1) throw Error(str("the model takes ", inputs_.size(), " inputs: pass a dict by name or a list"));
      given[0] = feeds;
    }
    // Keep every bound array alive through the run.
    std::vector<py::array> held;
    for (size_t k = 0; k < inputs_.size(); ++k) {
      dlc_tensor_info info = model.input(inputs_[k]);
      held.push_back(prepare(given[k], info));
      const py::array& a = held.back();
      std::vector<int64_t> shape(a.shape(), a.shape() + a.ndim());
      try {
        session_.bindInput(inputs_[k], info.dtype, shape, a.data(), static_cast<size_t>(a.nbytes()));
      } catch (const runtime::Error& e) {
        throw Error(e.what());
      }
    }
    try {
      py::gil_scoped_release unlocked;
      session_.run();
    } catch (const runtime::Error& e) {
      throw Error(e.what());
    }
    py::dict out;
    for (size_t i = 0; i < model.outputCount(); ++i) out[py::str(model.output(i).name)] = output(i);
    return out;
  }

  py::list stepTimes() const {
    py::list out;
    const dlc_model* m = artifact_->model->get();
    dlc_model_stats s;
    dlc_model_stats_get(m, &s);
    for (size_t i = 0; i < s.steps; ++i) {
      const char *library = "", *kernel = "", *location = "";
      dlc_model_step_describe(m, i, &library, &kernel, &location);
      uint64_t ns = 0;
      try {
        ns = session_.stepTimeNs(i);
      } catch (const runtime::Error& e) {
        throw Error(e.what());
      }
      out.append(py::make_tuple(std::string(kernel), std::string(location), std::string(library), static_cast<double>(ns) * 1e-9));
    }
    return out;
  }

 private:
  static runtime::Session makeSession(const runtime::Model& model, int threads, bool profile) {
    if (threads < 0) throw Error("threads must be >= 0 (0: one per CPU)");
    try {
      return runtime::Session(model, threads, nullptr, profile);
    } catch (const runtime::Error& e) {
      throw Error(e.what());
    }
  }

  static std::string join(const std::vector<std::string>& names) {
    std::string s;
    for (const auto& n : names) s += (s.empty() ? "" : ", ") + n;
    return s;
  }

  // `value` as a C-contiguous array of the input's dtype: an ndarray of another dtype is an error
  // (as in ONNX Runtime: silently rounding float64 data would hide a mistake); Python numbers
  // and lists are converted.
  static py::array prepare(const py::object& value, const dlc_tensor_info& info) {
    auto dtype = dtypeFromOnnxCode(info.dtype);
    if (!dtype) throw Error(str("input '", info.name, "' has an element type NumPy cannot give"));
    if (*dtype == DType::BF16) {
      if (py::isinstance<py::array>(value) && dtypeOfNumpy(value.cast<py::array>().dtype()) != DType::F32)
        throw Error(str("input '", info.name, "' is bf16: give it as float32"));
      return toBf16(py::array::ensure(value));
    }
    py::dtype want = numpyDtype(*dtype);
    if (py::isinstance<py::array>(value)) {
      py::array a = value.cast<py::array>();
      if (dtypeOfNumpy(a.dtype()) != dtype)
        throw Error(str("input '", info.name, "' is ", dtypeName(*dtype), ", the array given is ", std::string(py::str(a.dtype()))));
      if (a.flags() & py::array::c_style) return a;
      return py::array::ensure(a, py::array::c_style);
    }
    py::module_ np = py::module_::import("numpy");
    return np.attr("ascontiguousarray")(value, want).cast<py::array>();
  }

  py::array output(size_t i) const {
    dlc_tensor t;
    try {
      t = session_.output(i);
    } catch (const runtime::Error& e) {
      throw Error(e.what());
    }
    auto dtype = dtypeFromOnnxCode(t.dtype);
    if (!dtype) throw Error(str("output ", i, " has unknown dtype code ", t.dtype));
    std::vector<py::ssize_t> shape(t.shape, t.shape + t.rank);
    if (*dtype == DType::BF16) {
      py::array_t<float> out(shape);
      const auto* src = static_cast<const uint16_t*>(t.data);
      for (py::ssize_t e = 0; e < out.size(); ++e) out.mutable_data()[e] = bfloat16ToFloat(src[e]);
      return std::move(out);
    }
    py::array out(numpyDtype(*dtype), shape);
    if (static_cast<size_t>(out.nbytes()) != t.bytes) throw Error(str("output ", i, ": ", t.bytes, " bytes for its shape"));
    std::memcpy(out.mutable_data(), t.data, t.bytes);
    return out;
  }

  ArtifactPtr artifact_;
  mutable runtime::Session session_;
  std::vector<size_t> inputs_;
};

}  // namespace

void bindRuntime(py::module_& m) {
  py::class_<Artifact, ArtifactPtr>(m, "Artifact")
      .def_static("load", &Artifact::fromFile)
      .def_static("from_bytes", &Artifact::fromBytes)
      .def("save", &Artifact::save)
      .def("to_bytes", [](const Artifact& a) { return py::bytes(a.contents()); })
      .def_property_readonly("target", [](const Artifact& a) { return a.model->target(); })
      .def("inputs", [](const Artifact& a) { return signature(*a.model, true); })
      .def("outputs", [](const Artifact& a) { return signature(*a.model, false); })
      .def("stats", [](const Artifact& a) { return stats(*a.model); });
  py::class_<Session>(m, "Session")
      .def(py::init<ArtifactPtr, int, bool>(), py::arg("artifact"), py::arg("threads") = 0, py::arg("profile") = false)
      .def("run", &Session::run)
      .def("step_times", &Session::stepTimes);
}

}  // namespace dlc::python
