// `dlc opt`: runs passes (a given list or a target's default pipeline) on a model's IR.
#include <fstream>
#include <iostream>

#include "ir/printer.h"
#include "tools/cli.h"
#include "tools/pipeline.h"

namespace dlc::cli {
namespace {

constexpr const char* kHelp =
    "usage: dlc opt IN(.dlcir|.onnx) [--passes=P1,P2,...] [-o OUT.dlcir] [options]\n"
    "\n"
    "Runs passes on the model's IR and prints the result (or writes it with -o). Without\n"
    "--passes, runs the default pipeline of --target at -O<level>.\n"
    "\n"
    "  --passes=LIST           comma-separated pass names (see --list-passes)\n"
    "  --target T              reference (default), cpu, onednn, cuda: picks the default pipeline\n"
    "  -O0 .. -O3              optimization level of the default pipeline (default -O2)\n"
    "  --input-shape N=AxBxC   specialise input N to a concrete shape (repeatable)\n"
    "  --print-ir-after=P      print the IR after pass P (repeatable)\n"
    "  --print-ir-after-all    print the IR after every pass\n"
    "  --time-passes           print how long each pass took\n"
    "  --no-verify             do not run the verifier between passes\n"
    "  --elide-constants       elide large constants in the output (not parseable back)\n"
    "  --list-passes           list the registered passes and exit\n";

}  // namespace

int runOpt(const std::vector<std::string>& argv) {
  auto args = Args::parse(argv, {"passes", "output", "target", "O", "input-shape", "print-ir-after"},
                          {"help", "print-ir-after-all", "time-passes", "no-verify", "list-passes", "elide-constants"});
  if (!args.ok()) return fail(args.status());
  if (args->has("help")) {
    std::cout << kHelp;
    return 0;
  }
  if (args->has("list-passes")) {
    for (const auto& p : passes::registeredPasses()) std::cout << p.name << "\t" << p.summary << "\n";
    return 0;
  }
  if (args->positional().size() != 1) return fail("opt takes exactly one input model (see --help)");
  auto level = parseOptLevel(args->get("O", "2"));
  if (!level.ok()) return fail(level.status());
  auto ctx = makePassContext(args->get("target", "reference"), args->getAll("input-shape"));
  if (!ctx.ok()) return fail(ctx.status());

  passes::PassManagerOptions options;
  options.verify_each = !args->has("no-verify");
  options.print_ir_after_all = args->has("print-ir-after-all");
  options.time_passes = args->has("time-passes");
  for (const auto& p : args->getAll("print-ir-after")) options.print_ir_after.insert(p);
  for (const auto& p : options.print_ir_after)
    if (!passes::findPass(p)) return fail(str("--print-ir-after: unknown pass '", p, "'"));

  auto graph = loadModel(args->positional()[0]);
  if (!graph.ok()) return fail(graph.status());
  Status s;
  if (args->has("passes")) {
    passes::PassManager pm(options);
    s = pm.add(passes::splitPassList(args->get("passes")));
    if (s.ok()) s = pm.run(**graph, *ctx);
  } else {
    s = optimize(**graph, *ctx, *level, options);
  }
  if (!s.ok()) return fail(str(s.message(), " (", args->positional()[0], ")"));

  PrintOptions po;
  po.elide_large_constants = args->has("elide-constants");
  return writeText(printGraph(**graph, po), args->get("output"));
}

}  // namespace dlc::cli
