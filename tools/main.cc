// The `dlc` command line: dispatches to one subcommand per DESIGN.md's contract.
#include <iostream>
#include <string>
#include <vector>

#include "tools/cli.h"

namespace {

constexpr const char* kUsage =
    "usage: dlc <command> [options]\n"
    "\n"
    "commands:\n"
    "  import   MODEL.onnx [-o OUT.dlcir]                       print or save the IR\n"
    "  compile  MODEL(.onnx|.dlcir) -o OUT.dlc [--target T]     write a .dlc artifact\n"
    "  run      MODEL(.onnx|.dlcir|.dlc) [--target T] [--input [NAME=]FILE]... [--output-dir DIR]\n"
    "  inspect  MODEL(.onnx|.dlcir|.dlc) [--format text|json|dot]\n"
    "  opt      IN.dlcir [--passes=P1,P2] [-o OUT.dlcir]        run passes on textual IR\n"
    "  bench    MODEL(.onnx|.dlcir|.dlc) [--target T] [--runs N] [--threads N] [--profile]\n"
    "  export   MODEL(.onnx|.dlcir) -o OUT.onnx [--opset N] [--external-data]   write standard ONNX\n"
    "  train    MODEL(.onnx|.dlcir) --data TRAIN.npz -o TRAINED.onnx [--val VAL.npz] [--loss L] ...\n"
    "  quantize MODEL(.onnx|.dlcir) -o OUT.(onnx|dlc) --calibrate CALIB.npz [--per-channel] ...   int8 QDQ\n"
    "  prune    MODEL(.onnx|.dlcir) -o OUT.(onnx|dlc) --method magnitude|n:m|channel [--sparsity S] ...\n"
    "\n"
    "Run `dlc <command> --help` for a command's options.\n";

}  // namespace

int main(int argc, char** argv) {
  std::vector<std::string> args(argv + 1, argv + argc);
  if (args.empty()) {
    std::cerr << kUsage;
    return 2;
  }
  std::string command = args[0];
  std::vector<std::string> rest(args.begin() + 1, args.end());
  if (command == "--help" || command == "-h" || command == "help") {
    std::cout << kUsage;
    return 0;
  }
  dlc::cli::Command run = dlc::cli::findCommand(command);
  if (!run) return dlc::cli::fail("unknown command '" + command + "' (see `dlc --help`)");
  try {
    return run(rest);
  } catch (const std::bad_alloc&) {
    return dlc::cli::fail("out of memory");
  } catch (const std::exception& e) {
    return dlc::cli::fail(std::string("internal error: ") + e.what());
  }
}
