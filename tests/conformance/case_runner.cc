// One ONNX backend-test case on the reference backend: import, feed the .pb inputs, compare outputs.
#include "tests/conformance/case_runner.h"

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <sstream>
#include <vector>

#include "backends/reference/interpreter.h"
#include "frontend/onnx/exporter.h"
#include "frontend/onnx/importer.h"
#include "ir/graph.h"
#include "ir/status.h"
#include "passes/pass_manager.h"

namespace dlc::conformance {
namespace fs = std::filesystem;

namespace {

// A .pb file does not say whether it holds a TensorProto, SequenceProto or OptionalProto: the
// reader is told the graph's type for it.
Expected<DataValue> readValue(const std::string& path, const Type& type) {
  return onnx_import::readValueFile(path, &type);
}

std::string shapeString(const std::vector<int64_t>& shape) {
  std::ostringstream os;
  os << '[';
  for (size_t i = 0; i < shape.size(); ++i) os << (i ? "," : "") << shape[i];
  os << ']';
  return os.str();
}

// Flat index -> "[i,j,k]" so a mismatch message points at the element.
std::string indexString(int64_t flat, const std::vector<int64_t>& shape) {
  std::vector<int64_t> idx(shape.size());
  for (size_t d = shape.size(); d-- > 0;) {
    if (shape[d] > 0) {
      idx[d] = flat % shape[d];
      flat /= shape[d];
    }
  }
  return shapeString(idx);
}

std::string compareTensors(const Tensor& e, const Tensor& a, const Tolerance& tol) {
  if (e.dtype() != a.dtype()) return str("dtype ", dtypeName(a.dtype()), ", expected ", dtypeName(e.dtype()));
  if (e.shape() != a.shape())
    return str("shape ", shapeString(a.shape()), ", expected ", shapeString(e.shape()));
  const int64_t n = e.numel();
  int64_t bad = 0, first = -1;
  double max_abs = 0.0;
  std::string first_got, first_want;
  auto note = [&](int64_t i, std::string got, std::string want) {
    if (bad++ == 0) {
      first = i;
      first_got = std::move(got);
      first_want = std::move(want);
    }
  };
  if (e.dtype() == DType::String) {
    for (int64_t i = 0; i < n; ++i) {
      const std::string& x = a.strings()[static_cast<size_t>(i)];
      const std::string& y = e.strings()[static_cast<size_t>(i)];
      if (x != y) note(i, "\"" + x + "\"", "\"" + y + "\"");
    }
  } else if (isFloat(e.dtype())) {
    for (int64_t i = 0; i < n; ++i) {
      const double x = a.getDouble(i), y = e.getDouble(i);
      if (x == y || (std::isnan(x) && std::isnan(y))) continue;  // also equal infinities
      const double diff = std::fabs(x - y);
      if (!(diff <= tol.atol + tol.rtol * std::fabs(y))) {
        if (std::isfinite(diff)) max_abs = std::max(max_abs, diff);
        note(i, str(x), str(y));
      }
    }
  } else {
    for (int64_t i = 0; i < n; ++i) {
      const int64_t x = a.getInt(i), y = e.getInt(i);
      if (x != y) note(i, str(x), str(y));
    }
  }
  if (bad == 0) return {};
  std::string msg = str(bad, " of ", n, " elements differ (first at ", indexString(first, e.shape()), ": got ",
                        first_got, ", expected ", first_want);
  if (max_abs > 0) msg += str("; max abs diff ", max_abs);
  return msg + ")";
}

std::vector<std::string> sortedSubdirs(const std::string& dir, const std::string& prefix) {
  std::vector<std::string> out;
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(dir, ec)) {
    const std::string name = entry.path().filename().string();
    if (entry.is_directory() && name.rfind(prefix, 0) == 0) out.push_back(name);
  }
  std::sort(out.begin(), out.end());
  return out;
}

// Number of consecutive files `<stem>_0.pb, <stem>_1.pb, ...` in `dir`.
int countNumbered(const std::string& dir, const std::string& stem) {
  int n = 0;
  while (fs::exists(str(dir, "/", stem, "_", n, ".pb"))) ++n;
  return n;
}

std::string runDataSet(const Graph& graph, const std::string& dir, const Tolerance& tol) {
  const Region& body = graph.body();
  const int num_inputs = countNumbered(dir, "input");
  if (num_inputs > body.numArguments())
    return str(num_inputs, " input files but the graph has ", body.numArguments(), " inputs");
  std::vector<ref::RtValue> feeds;
  for (int i = 0; i < num_inputs; ++i) {
    auto v = readValue(str(dir, "/input_", i, ".pb"), body.argument(i)->type());
    if (!v.ok()) return str("reading input_", i, ".pb: ", v.status().message());
    feeds.push_back(std::move(v).value());
  }
  auto outs = ref::Interpreter(graph).run(feeds);
  if (!outs.ok()) return "run: " + outs.status().message();
  const int num_outputs = countNumbered(dir, "output");
  if (static_cast<int>(outs.value().size()) != num_outputs)
    return str("got ", outs.value().size(), " outputs, expected ", num_outputs);
  for (int i = 0; i < num_outputs; ++i) {
    const Type& type = i < body.numOutputs() ? body.output(i)->type() : Type::tensor(DType::Undefined);
    auto want = readValue(str(dir, "/output_", i, ".pb"), type);
    if (!want.ok()) return str("reading output_", i, ".pb: ", want.status().message());
    std::string why = compareValues(want.value(), outs.value()[static_cast<size_t>(i)], tol);
    if (!why.empty()) {
      const std::string name = i < body.numOutputs() ? body.output(i)->name() : std::string();
      return str("output ", i, name.empty() ? "" : " '" + name + "'", ": ", why);
    }
  }
  return {};
}

}  // namespace

std::string compareValues(const DataValue& expected, const DataValue& actual, const Tolerance& tol) {
  if (expected.is_none || actual.is_none) {
    if (expected.is_none == actual.is_none) return {};
    return expected.is_none ? "got a value, expected an empty optional" : "got an empty optional, expected a value";
  }
  if (expected.is_sequence != actual.is_sequence)
    return expected.is_sequence ? "got a tensor, expected a sequence" : "got a sequence, expected a tensor";
  if (!expected.is_sequence) return compareTensors(expected.tensor, actual.tensor, tol);
  if (expected.sequence.size() != actual.sequence.size())
    return str("sequence of ", actual.sequence.size(), " tensors, expected ", expected.sequence.size());
  for (size_t j = 0; j < expected.sequence.size(); ++j) {
    std::string why = compareTensors(expected.sequence[j], actual.sequence[j], tol);
    if (!why.empty()) return str("sequence element ", j, ": ", why);
  }
  return {};
}

std::string runCase(const std::string& case_dir, const Tolerance& tol, int export_opset) {
  auto imported = onnx_import::importModelFile(case_dir + "/model.onnx");
  if (!imported.ok()) return "import: " + imported.status().message();
  if (export_opset != 0) {
    onnx_export::ExportOptions options;
    options.opset = export_opset;
    auto bytes = onnx_export::exportModelBytes(*imported.value(), options);
    if (!bytes.ok()) return "export: " + bytes.status().message();
    imported = onnx_import::importModelBytes(bytes.value(), "exported model.onnx", case_dir);
    if (!imported.ok()) return "re-import: " + imported.status().message();
  }
  // -O0: no optimization, but ops defined in terms of others (Gradient, the optimizers) expanded.
  auto names = passes::defaultPipeline("reference", 0);
  passes::PassManager pm;
  Status lowered = names.ok() ? pm.add(*names) : names.status();
  if (lowered.ok()) lowered = pm.run(*imported.value(), passes::PassContext{});
  if (!lowered.ok()) return "-O0 pipeline: " + lowered.message();
  const Graph& graph = *imported.value();
  const std::vector<OpKind> missing = ref::unsupportedOps(graph);
  if (!missing.empty()) {
    std::string names;
    for (OpKind k : missing) names += str(names.empty() ? "" : ", ", opName(k));
    return "no reference kernel for " + names;
  }
  const std::vector<std::string> sets = sortedSubdirs(case_dir, "test_data_set_");
  if (sets.empty()) return "no test_data_set_* folder";
  for (const std::string& set : sets) {
    std::string why = runDataSet(graph, case_dir + "/" + set, tol);
    // Most cases have one data set; name it only when there are several.
    if (!why.empty()) return sets.size() > 1 ? set + ": " + why : why;
  }
  return {};
}

}  // namespace dlc::conformance
