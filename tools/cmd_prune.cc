// `dlc prune`: magnitude (unstructured) and n:m (2:4) pruning of a model's weights, written as
// ONNX (the pruned weights as zeros: any runtime runs it) or as a .dlc for a target, with the
// exact sparsity of each layer reported.
#include <cmath>
#include <iostream>
#include <sstream>

#include "backends/artifact_writer.h"
#include "frontend/onnx/exporter.h"
#include "passes/pass_manager.h"
#include "passes/prune/magnitude.h"
#include "tools/artifact.h"
#include "tools/cli.h"
#include "tools/pipeline.h"

namespace dlc::cli {
namespace {

constexpr const char* kHelp =
    "usage: dlc prune MODEL(.onnx|.dlcir) -o OUT.(onnx|dlc) --method magnitude|n:m [options]\n"
    "\n"
    "Sets weights of Conv, ConvTranspose, MatMul, Gemm and LSTM/GRU/RNN layers to zero. magnitude:\n"
    "the smallest |w|, exactly floor(sparsity x count) of them per layer (--scope layer) or over all\n"
    "layers together (--scope global). n:m: in every group of m consecutive weights along the\n"
    "reduction axis (a Conv's input channels and kernel, a MatMul's K), the m - n smallest. OUT.onnx\n"
    "holds the pruned weights as zeros; OUT.dlc is compiled for --target.\n"
    "\n"
    "  -o, --output OUT        .onnx or .dlc; replaced atomically\n"
    "  --method M              magnitude or n:m (channel: structured pruning, not yet)\n"
    "  --sparsity S            magnitude: the fraction of weights set to zero, in [0, 1) (default 0.5)\n"
    "  --scope global|layer    magnitude: one threshold for all layers, or one per layer (default)\n"
    "  --pattern N:M           n:m: keep N of every M (default 2:4)\n"
    "  --exclude NODE,...      node names to leave dense\n"
    "  --report REPORT.json    per-layer weights, zeros and sparsity, what was left dense and why\n"
    "  --target T              target of OUT.dlc (default onednn)\n"
    "  --input-shape N=AxB     OUT.dlc: fix input N's symbolic dims, as dlc compile\n";

std::string reportJson(const std::string& model, const std::string& method, const prune::PruneResult& r) {
  std::ostringstream j;
  int64_t weights = 0, zeros = 0;
  j << "{\n  \"model\": " << jsonQuote(model) << ",\n  \"method\": " << jsonQuote(method) << ",\n  \"layers\": [";
  for (size_t i = 0; i < r.layers.size(); ++i) {
    const auto& l = r.layers[i];
    weights += l.weights;
    zeros += l.zeros;
    j << (i ? "," : "") << "\n    {\"node\": " << jsonQuote(l.node) << ", \"op\": " << jsonQuote(l.op_type)
      << ", \"weight\": " << jsonQuote(l.weight) << ", \"weights\": " << l.weights << ", \"zeros\": " << l.zeros
      << ", \"sparsity\": " << static_cast<double>(l.zeros) / static_cast<double>(std::max<int64_t>(1, l.weights)) << "}";
  }
  j << "\n  ],\n  \"dense\": [";
  for (size_t i = 0; i < r.skipped.size(); ++i) {
    const auto& s = r.skipped[i];
    j << (i ? "," : "") << "\n    {\"node\": " << jsonQuote(s.node) << ", \"op\": " << jsonQuote(s.op_type)
      << ", \"reason\": " << jsonQuote(s.reason) << "}";
  }
  j << "\n  ],\n  \"weights\": " << weights << ",\n  \"zeros\": " << zeros << ",\n  \"sparsity\": "
    << static_cast<double>(zeros) / static_cast<double>(std::max<int64_t>(1, weights)) << "\n}\n";
  return j.str();
}

}  // namespace

int runPrune(const std::vector<std::string>& argv) {
  auto args = Args::parse(argv, {"output", "method", "sparsity", "scope", "pattern", "exclude", "report", "target", "input-shape",
                                 "min-channels", "criterion", "calibrate", "finetune", "epochs", "iterative", "rewind", "teacher"},
                          {"help"});
  if (!args.ok()) return fail(args.status());
  if (args->has("help")) {
    std::cout << kHelp;
    return 0;
  }
  if (args->positional().size() != 1) return fail("prune takes exactly one MODEL (see --help)");
  const std::string model_path = args->positional()[0];
  const std::string out_path = args->get("output");
  if (out_path.empty()) return fail("prune needs -o OUT.onnx or -o OUT.dlc");
  const bool to_artifact = endsWith(out_path, ".dlc");
  if (!to_artifact && !endsWith(out_path, ".onnx")) return fail(str("-o ", out_path, ": the output must end in .onnx or .dlc"));
  for (const char* o : {"finetune", "epochs", "iterative", "rewind", "teacher", "calibrate", "criterion", "min-channels"})
    if (args->has(o)) return fail(str("--", o, " is not implemented yet (dlc prune does magnitude and n:m pruning without fine-tuning)"));
  prune::PruneOptions options;
  const std::string method = args->get("method");
  if (method.empty()) return fail("prune needs --method magnitude or n:m");
  if (method == "channel") return fail("--method channel (structured pruning) is not implemented yet; magnitude and n:m are");
  if (method == "n:m") {
    options.method = prune::Method::NM;
    const std::string pattern = args->get("pattern", "2:4");
    size_t colon = pattern.find(':');
    try {
      if (colon == std::string::npos) throw std::invalid_argument("no colon");
      size_t a = 0, b = 0;
      options.n = std::stoi(pattern.substr(0, colon), &a);
      options.m = std::stoi(pattern.substr(colon + 1), &b);
      if (a != colon || b != pattern.size() - colon - 1) throw std::invalid_argument("trailing text");
    } catch (const std::exception&) {
      return fail(str("--pattern '", pattern, "' is not N:M (2:4, say)"));
    }
    if (!(options.n > 0 && options.m > options.n && options.m <= 64)) return fail(str("--pattern ", pattern, " needs 0 < N < M <= 64"));
    for (const char* o : {"sparsity", "scope"})
      if (args->has(o)) return fail(str("--", o, " applies to --method magnitude (n:m's sparsity is 1 - N/M)"));
  } else if (method == "magnitude") {
    if (args->has("pattern")) return fail("--pattern applies to --method n:m");
    auto sparsity = doubleOption(*args, "sparsity", 0.5, 0.0, 1.0);
    if (!sparsity.ok()) return fail(sparsity.status());
    if (*sparsity >= 1.0) return fail(str("--sparsity ", *sparsity, " is outside [0, 1)"));
    options.sparsity = *sparsity;
    const std::string scope = args->get("scope", "layer");
    if (scope != "layer" && scope != "global") return fail(str("--scope '", scope, "' is not global or layer"));
    options.global = scope == "global";
  } else {
    return fail(str("--method '", method, "' is not magnitude, n:m or channel"));
  }
  for (const auto& e : args->getAll("exclude"))
    for (const auto& n : splitList(e)) options.exclude.insert(n);
  const std::string target = args->get("target", "onednn");
  if (Status s = checkTarget(target); !s.ok()) return fail(s);
  if (!to_artifact && (args->has("target") || args->has("input-shape"))) return fail("--target and --input-shape apply to a .dlc output");

  auto graph = loadModel(model_path);
  if (!graph.ok()) return fail(graph.status());
  Graph& g = **graph;
  {
    auto ctx = makePassContext("reference", {});
    if (!ctx.ok()) return fail(ctx.status());
    passes::PassManager pm;
    Status s = pm.add({"canonicalize", "constant-fold", "dce"});
    if (s.ok()) s = pm.run(g, *ctx);
    if (!s.ok()) return fail(str(s.message(), " (", model_path, ")"));
  }
  nameValuesAndLayers(g, [](const Op& op) {
    switch (op.kind()) {
      case OpKind::Conv: case OpKind::ConvTranspose: case OpKind::MatMul: case OpKind::Gemm: case OpKind::LSTM:
      case OpKind::GRU: case OpKind::RNN:
        return true;
      default:
        return false;
    }
  });
  auto pruned = prune::pruneWeights(g, options);
  if (!pruned.ok()) return fail(str(pruned.status().message(), " (", model_path, ")"));
  {
    passes::PassManager pm;  // the dense weights the pruned copies replaced
    Status s = pm.add({"dce"});
    if (s.ok()) s = pm.run(g, passes::PassContext{});
    if (!s.ok()) return fail(s);
  }

  Status written;
  if (to_artifact) {
    auto ctx = makePassContext(target, args->getAll("input-shape"));
    if (!ctx.ok()) return fail(ctx.status());
    Status s = optimize(g, *ctx, 2);
    backends::ArtifactOptions artifact;
    artifact.target = target;
    Expected<std::string> bytes = s.ok() ? backends::writeArtifact(g, artifact) : Expected<std::string>(s);
    written = bytes.ok() ? writeFileAtomically(out_path, *bytes) : bytes.status();
  } else {
    written = onnx_export::exportModelFile(g, out_path, {});
  }
  if (!written.ok()) return fail(str(written.message(), " (writing ", out_path, ")"));
  const std::string method_name = options.method == prune::Method::NM ? str(options.n, ":", options.m)
                                                                        : str("magnitude ", options.global ? "global " : "", options.sparsity);
  const std::string report_path = args->get("report");
  if (!report_path.empty()) {
    Status r = writeFileAtomically(report_path, reportJson(model_path, method_name, *pruned));
    if (!r.ok()) return fail(r);
  }
  int64_t weights = 0, zeros = 0;
  for (const auto& l : pruned->layers) weights += l.weights, zeros += l.zeros;
  std::cerr << "dlc: pruned " << pruned->layers.size() << " weight tensors (" << method_name << "): " << zeros << " of " << weights
            << " weights are zero (" << 100.0 * static_cast<double>(zeros) / static_cast<double>(std::max<int64_t>(1, weights))
            << "%)" << (pruned->skipped.empty() ? "" : str("; ", pruned->skipped.size(), " layers left dense")) << "\n";
  return 0;
}

}  // namespace dlc::cli
