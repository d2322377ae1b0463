// `dlc run`: loads a model, reads inputs (.npy or ONNX .pb), runs it and writes or prints outputs.
#include <sys/stat.h>

#include <cmath>
#include <iostream>

#include "backends/reference/interpreter.h"
#include "tools/artifact.h"
#include "tools/cli.h"
#include "tools/inputs.h"
#include "tools/npy.h"
#include "tools/pipeline.h"

namespace dlc::cli {
namespace {

constexpr const char* kHelp =
    "usage: dlc run MODEL(.onnx|.dlcir|.dlc) [--target T] [--input [NAME=]FILE]... [--output-dir DIR]\n"
    "\n"
    "Runs the model once. Inputs are NumPy .npy files or ONNX .pb files (TensorProto,\n"
    "SequenceProto, OptionalProto), given in graph-input order or as NAME=FILE.\n"
    "A .dlc artifact runs through the runtime library (libdlcrt) as compiled; --target, -O and\n"
    "--input-shape apply to ONNX and IR models only.\n"
    "\n"
    "  --target T        reference (default: the interpreter) or onednn (compiled in memory\n"
    "                    for the given inputs' shapes and run through libdlcrt)\n"
    "  -O0 .. -O3        optimization level of the target's default pipeline (default -O2)\n"
    "  --input-shape N=AxBxC  specialise input N's symbolic dims before optimizing\n"
    "  --input F         an input file; repeat once per graph input\n"
    "  --threads N       .dlc only: intra-op threads of the session (default: one per CPU)\n"
    "  --output-dir DIR  write output_<i>.npy per graph output (a sequence output becomes the\n"
    "                    folder output_<i>/ with 0.npy, 1.npy, ...; bf16 is written as f32).\n"
    "                    Without it, a summary of each output is printed.\n";

Status makeDir(const std::string& dir) {
  if (mkdir(dir.c_str(), 0755) != 0 && errno != EEXIST) return Status::error(str("cannot create directory '", dir, "'"));
  return Status::success();
}

Status writeOutput(const std::string& dir, size_t index, const DataValue& v) {
  std::string base = str(dir, "/output_", index);
  if (v.is_none) {
    std::cerr << "dlc: note: output " << index << " is an empty optional; nothing written\n";
    return Status::success();
  }
  if (v.is_sequence) {
    DLC_RETURN_IF_ERROR(makeDir(base));
    for (size_t i = 0; i < v.sequence.size(); ++i) DLC_RETURN_IF_ERROR(npy::writeFile(str(base, "/", i, ".npy"), v.sequence[i]));
    return Status::success();
  }
  return npy::writeFile(base + ".npy", v.tensor);
}

void printSummary(const std::string& name, const DataValue& v) {
  if (v.is_none) {
    std::cout << name << ": empty optional\n";
    return;
  }
  if (v.is_sequence) {
    std::cout << name << ": sequence of " << v.sequence.size() << " tensors\n";
    return;
  }
  const Tensor& t = v.tensor;
  std::vector<int64_t> dims(t.shape().begin(), t.shape().end());
  std::cout << name << ": " << dtypeName(t.dtype()) << Shape::of(dims).toString();
  if (t.dtype() == DType::String) {
    std::cout << "\n";
    return;
  }
  int64_t n = t.numel(), shown = std::min<int64_t>(n, 8);
  std::cout << " [";
  for (int64_t i = 0; i < shown; ++i) std::cout << (i ? ", " : "") << t.getDouble(i);
  std::cout << (n > shown ? ", ...]" : "]");
  if (n > 0) {
    double lo = t.getDouble(0), hi = lo, sum = 0;
    for (int64_t i = 0; i < n; ++i) {
      double x = t.getDouble(i);
      lo = std::min(lo, x);
      hi = std::max(hi, x);
      sum += x;
    }
    std::cout << " min=" << lo << " max=" << hi << " mean=" << sum / static_cast<double>(n);
  }
  std::cout << "\n";
}

}  // namespace

int runRun(const std::vector<std::string>& argv) {
  auto args = Args::parse(argv, {"target", "input", "output-dir", "O", "input-shape", "threads"}, {"help"});
  if (!args.ok()) return fail(args.status());
  if (args->has("help")) {
    std::cout << kHelp;
    return 0;
  }
  if (args->positional().size() != 1) return fail("run takes exactly one MODEL (see --help)");
  const std::string model_path = args->positional()[0];
  std::string target = args->get("target", "reference");
  Status known = checkTarget(target);
  if (!known.ok()) return fail(known);
  // The reference target interprets the optimized graph; the others compile it in memory once the
  // inputs are read (their shapes fix the graph's symbolic dims) and run it through libdlcrt.
  const bool compiled_target = target != "reference";
  int opt_level = 2;

  std::unique_ptr<Graph> graph;
  std::unique_ptr<runtime::Model> artifact;
  if (isArtifactPath(model_path)) {
    for (const char* option : {"O", "input-shape"})
      if (args->has(option)) return fail(str(option == std::string("O") ? "-" : "--", option, " applies when compiling; '", model_path, "' is compiled already"));
    auto loaded = loadArtifact(model_path);
    if (!loaded.ok()) return fail(loaded.status());
    artifact = std::move(loaded).value();
    if (args->has("target") && target != artifact->target())
      return fail(str("'", model_path, "' was compiled for target ", artifact->target(), ", not ", target));
    graph = signatureGraph(*artifact);
  } else {
    auto level = parseOptLevel(args->get("O", "2"));
    if (!level.ok()) return fail(level.status());
    opt_level = *level;
    auto ctx = makePassContext(target, args->getAll("input-shape"));
    if (!ctx.ok()) return fail(ctx.status());
    auto loaded = loadModel(model_path);
    if (!loaded.ok()) return fail(loaded.status());
    graph = std::move(loaded).value();
    if (!compiled_target) {
      Status optimized = optimize(*graph, *ctx, *level);
      if (!optimized.ok()) return fail(str(optimized.message(), " (", model_path, ")"));
    }
  }
  const Region& body = graph->body();

  auto matched = matchInputFiles(body, args->getAll("input"));
  if (!matched.ok()) return fail(matched.status());
  const std::vector<std::string>& files = *matched;
  std::vector<DataValue> inputs;
  std::string missing;
  for (int i = 0; i < body.numArguments(); ++i) {
    const Value* arg = body.argument(i);
    if (files[static_cast<size_t>(i)].empty()) {
      missing += str(missing.empty() ? "" : ", ", arg->name(), ": ", arg->type().toString());
      continue;
    }
    auto v = readInput(files[static_cast<size_t>(i)], arg->type());
    if (!v.ok()) return fail(v.status());
    inputs.push_back(std::move(v).value());
  }
  if (!missing.empty()) return fail(str("missing inputs: ", missing, " (", model_path, ")"));
  if (compiled_target && !artifact) {
    auto compiled = compileForInputs(*graph, target, opt_level, args->getAll("input-shape"), inputs);
    if (!compiled.ok()) return fail(str(compiled.status().message(), " (", model_path, ")"));
    artifact = std::move(compiled).value();
  }

  Expected<std::vector<DataValue>> outputs = Status::error("not run");
  std::vector<std::string> output_names;
  if (artifact) {
    auto threads = intOption(*args, "threads", 0, 0);
    if (!threads.ok()) return fail(threads.status());
    try {
      runtime::Session session(*artifact, *threads);
      outputs = runSession(*artifact, session, inputs);
    } catch (const runtime::Error& e) {
      outputs = Status::error(e.what());
    }
    for (size_t i = 0; i < artifact->outputCount(); ++i) output_names.push_back(artifact->output(i).name);
  } else {
    ref::Interpreter interpreter(*graph);
    outputs = interpreter.run(inputs);
    for (int i = 0; i < body.numOutputs(); ++i) output_names.push_back(body.output(i)->name());
  }
  if (!outputs.ok()) return fail(str(outputs.status().message(), " (", model_path, ")"));

  std::string out_dir = args->get("output-dir");
  if (!out_dir.empty()) {
    Status s = makeDir(out_dir);
    for (size_t i = 0; s.ok() && i < outputs->size(); ++i) s = writeOutput(out_dir, i, (*outputs)[i]);
    if (!s.ok()) return fail(s);
  } else {
    for (size_t i = 0; i < outputs->size(); ++i) printSummary(output_names[i], (*outputs)[i]);
  }
  return 0;
}

}  // namespace dlc::cli
