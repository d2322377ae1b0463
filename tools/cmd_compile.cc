// `dlc compile`: imports and optimizes a model for a target and writes the .dlc artifact.
#include <cctype>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <iostream>

#include "backends/artifact_writer.h"
#include "backends/llvm_cpu/compile/bundle.h"
#include "backends/llvm_cpu/compile/cpu_backend.h"
#include "tools/cli.h"
#include "tools/pipeline.h"
#include "tools/progress.h"

namespace dlc::cli {
namespace {

constexpr const char* kHelp =
    "usage: dlc compile MODEL(.onnx|.dlcir) -o OUT.dlc [--target T] [-O0..-O3] [--input-shape NAME=AxB]...\n"
    "                   [--cpu CPU] [--triple TRIPLE] [--emit artifact|bundle|llvm-ir|asm|object]\n"
    "\n"
    "Optimizes the model with the target's default pipeline, plans its memory and writes a .dlc\n"
    "artifact that `dlc run`, `dlc inspect` and applications linking libdlcrt load.\n"
    "\n"
    "  -o, --output OUT.dlc   the artifact to write (replaced atomically)\n"
    "  --target T             reference (default; libdlc_kernels_reference runs every op),\n"
    "                         onednn (libdlc_kernels_onednn runs what oneDNN supports) or cpu\n"
    "                         (native code generated with LLVM, run by libdlc_cpu); both leave\n"
    "                         other ops to the reference kernels in the same artifact. onednn\n"
    "                         takes symbolic dims (one artifact for any batch or sequence\n"
    "                         length: its steps are specialized per shape at run time); cpu\n"
    "                         needs static shapes (give --input-shape for symbolic dims)\n"
    "  --cpu CPU              cpu target: the CPU to generate code for: native (default: this\n"
    "                         machine's CPU and features), znver4, x86-64-v3, skylake-avx512, ...\n"
    "                         The artifact records the CPU features it needs; the runtime\n"
    "                         refuses it on a CPU without them\n"
    "  --triple TRIPLE        cpu target: the target triple (default the host's; x86_64 Linux)\n"
    "  --emit KIND            cpu target: artifact (default); bundle: OUT.o, OUT.h and\n"
    "                         OUT.weights for static linking into a C/C++ program without the\n"
    "                         dlc runtime (every op must compile; see OUT.h); or the optimized\n"
    "                         native code of the compiled segments as llvm-ir, asm or an ELF\n"
    "                         object, for inspection (-o names the file)\n"
    "  -O0 .. -O3             optimization level (default -O2)\n"
    "  --input-shape N=AxBxC  fix input N's symbolic dims, so every intermediate gets an arena\n"
    "                         slot; without it, symbolic-shaped values are sized at run time\n"
    "\n"
    "The artifact holds tensors of numeric types at the top level: a model whose graph inputs,\n"
    "outputs or top-level values are sequences, optionals or strings is refused with the value's\n"
    "name (those types are fine inside If/Loop/Scan bodies).\n";

}  // namespace

int runCompile(const std::vector<std::string>& argv) {
  auto args = Args::parse(argv, {"target", "output", "O", "input-shape", "cpu", "triple", "emit"}, {"help"});
  if (!args.ok()) return fail(args.status());
  if (args->has("help")) {
    std::cout << kHelp;
    return 0;
  }
  if (args->positional().size() != 1) return fail("compile takes exactly one MODEL (see --help)");
  const std::string model_path = args->positional()[0];
  std::string out_path = args->get("output");
  if (out_path.empty()) return fail("compile needs -o OUT.dlc");
  std::string target = args->get("target", "reference");
  if (!backends::findBackend(target)) {
    std::string names;
    for (const auto& n : backends::backendNames()) names += str(names.empty() ? "" : ", ", n);
    return fail(str("target '", target, "' is not available in this version (available: ", names, ")"));
  }
  auto level = parseOptLevel(args->get("O", "2"));
  if (!level.ok()) return fail(level.status());
  auto ctx = makePassContext(target, args->getAll("input-shape"));
  if (!ctx.ok()) return fail(ctx.status());
  auto graph = loadModel(model_path);
  if (!graph.ok()) return fail(graph.status());
  // On a terminal: the passes, then the code generator's stages, as one bar.
  ProgressBar bar;
  auto failed = [&bar](const auto& why) {  // the bar goes before the error line
    bar.clear();
    return fail(why);
  };
  size_t passes = 0;
  passes::PassManagerOptions pipeline;
  pipeline.on_pass = [&](const std::string& pass, size_t done, size_t total) {
    passes = total;
    bar.update("compiling", static_cast<int64_t>(done), static_cast<int64_t>(total + 4), pass);
  };
  Status optimized = optimize(**graph, *ctx, *level, pipeline);
  if (!optimized.ok()) return failed(str(optimized.message(), " (", model_path, ")"));
  bar.clear();  // notes below start their own lines; code generation redraws it

  // The compiled targets take symbolic dims: the note says what a run at a new shape costs.
  if (target != "reference")
    for (int i = 0; i < (*graph)->body().numArguments(); ++i) {
      const Value* arg = (*graph)->body().argument(i);
      if (!arg->type().isTensor() || arg->type().shape.isStatic()) continue;
      if (target == "onednn")
        std::cerr << "dlc: note: input '" << arg->name() << "' is " << arg->type().toString() << "; oneDNN steps are "
                  << "built for each distinct shape at its first run (fix it with --input-shape " << arg->name() << "=...)\n";
      else
        std::cerr << "dlc: note: input '" << arg->name() << "' is " << arg->type().toString() << "; cpu steps plan their "
                  << "sizes for each distinct shape at its first run (fix it with --input-shape " << arg->name() << "=...)\n";
    }
  backends::ArtifactOptions options;
  options.target = target;
  options.compile.cpu = args->get("cpu");
  options.compile.triple = args->get("triple");
  options.compile.progress = [&](const char* stage, int done, int total) {
    bar.update("compiling", static_cast<int64_t>(passes) + done, static_cast<int64_t>(passes) + total, stage);
  };
  if (target != "cpu" && (args->has("cpu") || args->has("triple") || args->has("emit")))
    return failed("--cpu, --triple and --emit apply to --target cpu");
  std::string emit = args->get("emit", "artifact");
  Expected<std::string> bytes = Status::error("");
  if (emit == "artifact") {
    bytes = backends::writeArtifact(**graph, options);
  } else if (emit == "bundle") {
    std::string stem = out_path;
    for (const char* ext : {".o", ".h", ".weights"})
      if (stem.size() > std::strlen(ext) && stem.compare(stem.size() - std::strlen(ext), std::strlen(ext), ext) == 0)
        stem.resize(stem.size() - std::strlen(ext));
    std::string name = stem.substr(stem.find_last_of('/') + 1);
    for (char& ch : name)
      if (!std::isalnum(static_cast<unsigned char>(ch))) ch = '_';
    if (name.empty() || std::isdigit(static_cast<unsigned char>(name[0]))) name = "model_" + name;
    auto bundle = llvm_cpu::emitBundle(**graph, options.compile, name, model_path);
    if (!bundle.ok()) return failed(str(bundle.status().message(), " (", model_path, ")"));
    for (auto [ext, bytes] : {std::pair<const char*, const std::string*>{".o", &bundle->object}, {".h", &bundle->header},
                              {".weights", &bundle->weights}}) {
      Status written = writeFileAtomically(stem + ext, *bytes);
      if (!written.ok()) return failed(written);
    }
    return 0;
  } else if (emit == "llvm-ir" || emit == "asm" || emit == "object") {
    auto kind = emit == "llvm-ir" ? llvm_cpu::EmitKind::LlvmIr : emit == "asm" ? llvm_cpu::EmitKind::Assembly : llvm_cpu::EmitKind::Object;
    bytes = llvm_cpu::emitSegments(**graph, options.compile, kind);
  } else {
    return failed(str("--emit '", emit, "' is not artifact, llvm-ir, asm or object"));
  }
  bar.clear();
  if (!bytes.ok()) return failed(str(bytes.status().message(), " (", model_path, ")"));
  Status written = writeFileAtomically(out_path, *bytes);
  if (!written.ok()) return failed(written);
  return 0;
}

}  // namespace dlc::cli
