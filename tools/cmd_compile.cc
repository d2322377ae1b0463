// `dlc compile`: imports and optimizes a model for a target and writes the .dlc artifact.
#include <cstdio>
#include <fstream>
#include <iostream>

#include "backends/artifact_writer.h"
#include "tools/cli.h"
#include "tools/pipeline.h"

namespace dlc::cli {
namespace {

constexpr const char* kHelp =
    "usage: dlc compile MODEL(.onnx|.dlcir) -o OUT.dlc [--target T] [-O0..-O3] [--input-shape NAME=AxB]...\n"
    "\n"
    "Optimizes the model with the target's default pipeline, plans its memory and writes a .dlc\n"
    "artifact that `dlc run`, `dlc inspect` and applications linking libdlcrt load.\n"
    "\n"
    "  -o, --output OUT.dlc   the artifact to write (replaced atomically)\n"
    "  --target T             reference (default; libdlc_kernels_reference runs every op) or\n"
    "                         onednn (libdlc_kernels_onednn runs what oneDNN supports, with\n"
    "                         static shapes: give --input-shape for symbolic dims)\n"
    "  -O0 .. -O3             optimization level (default -O2)\n"
    "  --input-shape N=AxBxC  fix input N's symbolic dims, so every intermediate gets an arena\n"
    "                         slot; without it, symbolic-shaped values are sized at run time\n"
    "\n"
    "The artifact holds tensors of numeric types at the top level: a model whose graph inputs,\n"
    "outputs or top-level values are sequences, optionals or strings is refused with the value's\n"
    "name (those types are fine inside If/Loop/Scan bodies).\n";

Status writeFileAtomically(const std::string& path, const std::string& bytes) {
  std::string tmp = path + ".tmp";
  {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    if (!out) return Status::error(str("cannot write '", tmp, "'"));
    out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
    if (!out) return Status::error(str("cannot write '", tmp, "'"));
  }
  // A new file, not a rewrite: processes that have the old one mapped keep seeing it intact.
  if (std::rename(tmp.c_str(), path.c_str()) != 0) {
    std::remove(tmp.c_str());
    return Status::error(str("cannot replace '", path, "'"));
  }
  return Status::success();
}

}  // namespace

int runCompile(const std::vector<std::string>& argv) {
  auto args = Args::parse(argv, {"target", "output", "O", "input-shape"}, {"help"});
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
  Status optimized = optimize(**graph, *ctx, *level);
  if (!optimized.ok()) return fail(str(optimized.message(), " (", model_path, ")"));

  backends::ArtifactOptions options;
  options.target = target;
  auto bytes = backends::writeArtifact(**graph, options);
  if (!bytes.ok()) return fail(str(bytes.status().message(), " (", model_path, ")"));
  Status written = writeFileAtomically(out_path, *bytes);
  if (!written.ok()) return fail(written);
  return 0;
}

}  // namespace dlc::cli
