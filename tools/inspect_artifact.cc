// `dlc inspect OUT.dlc`: what an artifact holds (signature, steps per kernel, weights, arena,
// required CPU features), as text or JSON, read through the runtime's verified loader.
#include <algorithm>
#include <iostream>
#include <map>

#include "dlc_kernels_cpu.h"
#include "dlc_kernels_onednn.h"
#include "tools/artifact.h"
#include "tools/cli.h"

namespace dlc::cli {

int inspectArtifact(const std::string& path, const std::string& format) {
  if (format == "dot" || format == "svg") return fail(str("--format ", format, " needs an ONNX or IR model; '", path, "' is a compiled artifact"));
  auto loaded = loadArtifact(path);
  if (!loaded.ok()) return fail(loaded.status());
  const runtime::Model& model = **loaded;
  const dlc_model* m = model.get();
  dlc_model_stats stats;
  dlc_model_stats_get(m, &stats);
  std::map<std::string, int> kernels;  // "library/kernel" -> steps
  for (size_t i = 0; i < stats.steps; ++i) {
    const char *library, *kernel, *location;
    runtime::check(dlc_model_step_describe(m, i, &library, &kernel, &location));
    kernels[str(library, "/", kernel)]++;
  }
  std::vector<std::string> features;
  for (size_t i = 0; i < dlc_model_cpu_feature_count(m); ++i) features.push_back(dlc_model_cpu_feature(m, i));
  auto signature = [&](bool inputs) {
    std::vector<std::pair<std::string, Type>> out;
    size_t n = inputs ? model.inputCount() : model.outputCount();
    for (size_t i = 0; i < n; ++i) {
      dlc_tensor_info info = inputs ? model.input(i) : model.output(i);
      out.emplace_back(info.name, typeOf(info));
    }
    return out;
  };

  // Symbolic dims of the signature, and what a run at a new binding of them costs.
  std::vector<std::string> symbols;
  bool unknown_dims = false;
  for (bool inputs : {true, false})
    for (const auto& [name, t] : signature(inputs))
      for (const Dim& d : t.shape.dims) {
        if (d.isSymbolic() && std::find(symbols.begin(), symbols.end(), d.symbol) == symbols.end()) symbols.push_back(d.symbol);
        unknown_dims |= !d.isStatic() && !d.isSymbolic();
      }
  std::string specialized;
  if (!symbols.empty() || unknown_dims) {
    if (kernels.count("onednn/segment"))
      specialized = str("onednn steps are built for each distinct shape of their inputs at its first run (",
                        DLC_ONEDNN_PROGRAMS_PER_STEP, " kept per step); other steps take any shape");
    else if (kernels.count("cpu/segment"))
      specialized = str("cpu steps of symbolic sizes read them from a table planned for each distinct shape of their inputs "
                        "at its first run (", DLC_CPU_SHAPES_PER_STEP, " kept per step); other steps take any shape");
    else
      specialized = "every step takes any shape";
  }

  if (format == "json") {
    auto values = [&](bool inputs) {
      std::string s = "[";
      for (const auto& [name, t] : signature(inputs))
        s += str(s.size() > 1 ? ", " : "", "{\"name\": ", jsonQuote(name), ", \"type\": ", jsonQuote(t.toString()), "}");
      return s + "]";
    };
    std::cout << "{\n  \"format_version\": " << dlc_model_format_version(m) << ",\n  \"producer\": "
              << jsonQuote(dlc_model_producer(m)) << ",\n  \"model\": " << jsonQuote(dlc_model_name(m))
              << ",\n  \"target\": " << jsonQuote(model.target()) << ",\n  \"cpu_features\": [";
    for (size_t i = 0; i < features.size(); ++i) std::cout << (i ? ", " : "") << jsonQuote(features[i]);
    std::cout << "],\n  \"steps\": " << stats.steps << ",\n  \"kernels\": {";
    bool first = true;
    for (const auto& [k, n] : kernels) {
      std::cout << (first ? "" : ", ") << jsonQuote(k) << ": " << n;
      first = false;
    }
    std::cout << "},\n  \"weights\": " << stats.weights << ",\n  \"weights_bytes\": " << stats.weight_bytes
              << ",\n  \"arena_bytes\": " << stats.arena_bytes << ",\n  \"native_code_bytes\": " << stats.native_code_bytes
              << ",\n  \"inputs\": " << values(true) << ",\n  \"outputs\": " << values(false) << ",\n  \"symbolic_dims\": [";
    for (size_t i = 0; i < symbols.size(); ++i) std::cout << (i ? ", " : "") << jsonQuote(symbols[i]);
    std::cout << "],\n  \"specialized\": " << jsonQuote(specialized) << "\n}\n";
    return 0;
  }
  std::cout << "artifact " << path << " (format " << dlc_model_format_version(m) << ", " << dlc_model_producer(m) << ")\n";
  std::cout << "model @" << dlc_model_name(m) << " for target " << model.target() << "\n";
  std::cout << "cpu features:";
  for (const auto& f : features) std::cout << " " << f;
  std::cout << (features.empty() ? " none\n" : "\n");
  std::cout << "inputs:\n";
  for (const auto& [name, t] : signature(true)) std::cout << "  " << name << ": " << t.toString() << "\n";
  std::cout << "outputs:\n";
  for (const auto& [name, t] : signature(false)) std::cout << "  " << name << ": " << t.toString() << "\n";
  if (!specialized.empty()) {
    std::cout << "symbolic dims:";
    for (const auto& sym : symbols) std::cout << " " << sym;
    std::cout << (symbols.empty() ? " none" : "") << (unknown_dims ? " (and dims known only at run time)" : "") << "\n";
    std::cout << "  " << specialized << "\n";
  }
  std::cout << "steps: " << stats.steps << "\n";
  for (const auto& [k, n] : kernels) std::cout << "  " << k << ": " << n << "\n";
  std::cout << "weights: " << stats.weights << " tensors, " << stats.weight_bytes << " bytes\n";
  std::cout << "arena: " << stats.arena_bytes << " bytes per session\n";
  if (stats.native_code_bytes) std::cout << "native code: " << stats.native_code_bytes << " bytes\n";
  return 0;
}

}  // namespace dlc::cli
