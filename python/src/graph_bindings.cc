// dlc._core.Graph: a model in dlc's IR (imported from ONNX, parsed from textual IR or built with
// dlc.nn), with its signature, the optimizer, the compiler to artifact bytes and the ONNX exporter.
#include <map>
#include <memory>

#include "backends/artifact_writer.h"
#include "frontend/onnx/exporter.h"
#include "ir/clone.h"
#include "ir/parser.h"
#include "ir/printer.h"
#include "ir/verifier.h"
#include "passes/pass_manager.h"
#include "python/src/bindings.h"
#include "tools/artifact.h"
#include "tools/cli.h"
#include "tools/pipeline.h"

namespace dlc::python {
namespace {

using GraphPtr = std::shared_ptr<Graph>;

GraphPtr loadGraph(const std::string& path) {
  if (cli::isArtifactPath(path)) throw Error("'" + path + "' is a compiled artifact: load it with dlc.load or dlc.Artifact.load");
  py::gil_scoped_release unlocked;
  return GraphPtr(valueOr(cli::loadModel(path)));
}

GraphPtr parseIr(const std::string& text, const std::string& source) {
  auto g = valueOr(parseGraph(text, source));
  check(verifyGraph(*g));
  return GraphPtr(std::move(g));
}

py::list signature(const Graph& g, bool inputs) {
  py::list out;
  const Region& body = g.body();
  int n = inputs ? body.numArguments() : body.numOutputs();
  for (int i = 0; i < n; ++i) {
    const Value* v = inputs ? body.argument(i) : body.output(i);
    std::string name = v->name().empty() ? "output_" + std::to_string(i) : v->name();
    out.append(describeType(name, v->type()));
  }
  return out;
}

py::dict opCounts(const Graph& g) {
  std::map<std::string, int> counts;
  for (const auto& op : g.body().ops()) ++counts[op->name()];
  py::dict out;
  for (const auto& [name, n] : counts) out[py::str(name)] = n;
  return out;
}

// The graph optimized for `target` (a copy; the original is unchanged).
GraphPtr optimized(const Graph& g, const std::string& target, int opt_level, const std::vector<std::string>& input_shapes) {
  check(cli::checkTarget(target));
  if (opt_level < 0 || opt_level > 3) throw Error("opt_level must be 0, 1, 2 or 3 (got " + std::to_string(opt_level) + ")");
  py::gil_scoped_release unlocked;
  auto ctx = valueOr(cli::makePassContext(target, input_shapes));
  GraphPtr copy(cloneGraph(g));
  check(cli::optimize(*copy, ctx, opt_level));
  return copy;
}

py::bytes compileGraph(const Graph& g, const std::string& target, int opt_level, const std::vector<std::string>& input_shapes,
                       const std::string& cpu) {
  GraphPtr copy = optimized(g, target, opt_level, input_shapes);
  if (!cpu.empty() && target != "cpu") throw Error("cpu= applies to target='cpu'");
  std::string bytes;
  {
    py::gil_scoped_release unlocked;
    backends::ArtifactOptions options;
    options.target = target;
    options.compile.cpu = cpu;
    bytes = valueOr(backends::writeArtifact(*copy, options));
  }
  return py::bytes(bytes);
}

// As `dlc export`: fused ops rewritten into standard ONNX ones first (on a copy).
void exportOnnx(const Graph& g, const std::string& path, int64_t opset, bool external_data) {
  if (opset < onnx_export::kMinExportOpset || opset > onnx_export::kMaxExportOpset)
    throw Error(str("opset ", opset, " is not supported (export writes ai.onnx opsets ", onnx_export::kMinExportOpset, " to ",
                    onnx_export::kMaxExportOpset, ")"));
  onnx_export::ExportOptions options;
  options.opset = opset;
  options.external_data = external_data;
  py::gil_scoped_release unlocked;
  GraphPtr copy(cloneGraph(g));
  passes::PassManager pm;
  check(pm.add({"unfuse", "dce"}));
  check(pm.run(*copy, passes::PassContext{}));
  check(onnx_export::exportModelFile(*copy, path, options));
}

void saveIr(const Graph& g, const std::string& path) { check(cli::writeFileAtomically(path, printGraph(g))); }

}  // namespace

void bindGraph(py::module_& m) {
  py::class_<Graph, GraphPtr>(m, "Graph")
      .def_property_readonly("name", [](const Graph& g) { return g.name; })
      .def_property_readonly("producer", [](const Graph& g) { return g.producer; })
      .def("inputs", [](const Graph& g) { return signature(g, true); })
      .def("outputs", [](const Graph& g) { return signature(g, false); })
      .def("op_counts", &opCounts)
      .def("num_ops", [](const Graph& g) { return g.body().ops().size(); })
      .def("ir", [](const Graph& g) { return printGraph(g); })
      .def("clone", [](const Graph& g) { return GraphPtr(cloneGraph(g)); })
      .def("optimized", &optimized)
      .def("compile", &compileGraph)
      .def("export_onnx", &exportOnnx)
      .def("save_ir", &saveIr);
  m.def("load_graph", &loadGraph);
  m.def("parse_ir", &parseIr);
  m.def("targets", [] {
    py::list out;
    for (const auto& n : backends::backendNames()) out.append(n);
    return out;
  });
}

}  // namespace dlc::python
