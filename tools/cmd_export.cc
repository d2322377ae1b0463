// `dlc export`: a model (ONNX or textual IR, fused ops included) -> a standard ONNX file.
#include <iostream>

#include "frontend/onnx/exporter.h"
#include "passes/pass_manager.h"
#include "tools/cli.h"

namespace dlc::cli {
namespace {

constexpr const char* kHelp =
    "usage: dlc export MODEL(.onnx|.dlcir) -o OUT.onnx [--opset N] [--external-data]\n"
    "\n"
    "Writes the model as an ONNX file. dlc's fused ops (FusedConv, FusedMatMul, FusedElementwise,\n"
    "Gelu, Attention, as `dlc opt` leaves them) are first rewritten into standard ONNX ops with the\n"
    "same numerics (the unfuse pass, then dce), so any ONNX runtime can run the result.\n"
    "\n"
    "  -o, --output OUT.onnx  the file to write (replaced atomically)\n"
    "  --opset N              ai.onnx opset to write, 13 to 17 (default 17); ops that changed after\n"
    "                         N are written in their older form, or refused naming the op and node\n"
    "  --external-data        put initializers of 1 KB or more into OUT.onnx.data beside the model\n"
    "                         (done anyway when they exceed protobuf's 2 GB limit)\n";

}  // namespace

int runExport(const std::vector<std::string>& argv) {
  auto args = Args::parse(argv, {"output", "opset"}, {"help", "external-data"});
  if (!args.ok()) return fail(args.status());
  if (args->has("help")) {
    std::cout << kHelp;
    return 0;
  }
  if (args->positional().size() != 1) return fail("export takes exactly one MODEL (see --help)");
  const std::string model_path = args->positional()[0];
  const std::string out_path = args->get("output");
  if (out_path.empty()) return fail("export needs -o OUT.onnx");
  onnx_export::ExportOptions options;
  auto opset = intOption(*args, "opset", static_cast<int>(options.opset), 0);
  if (!opset.ok()) return fail(opset.status());
  options.opset = *opset;
  if (options.opset < onnx_export::kMinExportOpset || options.opset > onnx_export::kMaxExportOpset)
    return fail(str("--opset ", options.opset, " is not supported (export writes ai.onnx opsets ",
                    onnx_export::kMinExportOpset, " to ", onnx_export::kMaxExportOpset, ")"));
  options.external_data = args->has("external-data");

  auto graph = loadModel(model_path);
  if (!graph.ok()) return fail(graph.status());
  passes::PassManager pm;
  Status s = pm.add({"unfuse", "dce"});
  if (s.ok()) s = pm.run(**graph, passes::PassContext{});
  if (s.ok()) s = onnx_export::exportModelFile(**graph, out_path, options);
  if (!s.ok()) return fail(str(s.message(), " (", model_path, ")"));
  return 0;
}

}  // namespace dlc::cli
