// `dlc import`: ONNX -> textual IR, printed or saved.
#include <fstream>
#include <iostream>

#include "ir/printer.h"
#include "tools/cli.h"

namespace dlc::cli {

int runImport(const std::vector<std::string>& argv) {
  static const char* kHelp =
      "usage: dlc import MODEL.onnx [-o OUT.dlcir] [--elide-constants]\n"
      "\n"
      "Imports an ONNX model and prints its IR, or saves it with -o. Printing to the terminal\n"
      "elides large constants unless -o is given; --elide-constants elides them in the file too\n"
      "(such a file cannot be parsed back).\n";
  auto args = Args::parse(argv, {"output"}, {"help", "elide-constants"});
  if (!args.ok()) return fail(args.status());
  if (args->has("help")) {
    std::cout << kHelp;
    return 0;
  }
  if (args->positional().size() != 1) return fail("import takes exactly one MODEL.onnx (see --help)");
  auto graph = loadModel(args->positional()[0]);
  if (!graph.ok()) return fail(graph.status());
  PrintOptions options;
  std::string out_path = args->get("output");
  options.elide_large_constants = out_path.empty() || args->has("elide-constants");
  return writeText(printGraph(**graph, options), out_path);
}

}  // namespace dlc::cli
