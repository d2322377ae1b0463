// libdlc_compiler's C API (compiler.h): argument lists for the subcommands of tools/, run
// in-process with their error message captured instead of printed.
#include "tools/compiler/compiler.h"

#include <cstring>
#include <exception>
#include <string>
#include <vector>

#include "tools/cli.h"

namespace {

int report(const std::string& message, char* error, size_t capacity) {
  if (error && capacity > 0) {
    size_t n = std::min(message.size(), capacity - 1);
    std::memcpy(error, message.data(), n);
    error[n] = '\0';
  }
  return 1;
}

int run(const std::string& name, const std::vector<std::string>& args, char* error, size_t capacity) {
  dlc::cli::Command command = dlc::cli::findCommand(name);
  if (!command) return report("unknown command '" + name + "'", error, capacity);
  std::string message;
  int rc = 0;
  {
    dlc::cli::ErrorCapture capture(&message);
    try {
      rc = command(args);
    } catch (const std::bad_alloc&) {
      rc = dlc::cli::fail("out of memory");
    } catch (const std::exception& e) {
      rc = dlc::cli::fail(std::string("internal error: ") + e.what());
    }
  }
  if (rc == 0) {
    if (error && capacity > 0) error[0] = '\0';
    return 0;
  }
  return report(message.empty() ? "dlc " + name + " failed" : message, error, capacity);
}

}  // namespace

extern "C" {

void dlc_compile_options_init(dlc_compile_options* options) {
  if (!options) return;
  std::memset(options, 0, sizeof *options);
  options->target = "reference";
  options->opt_level = 2;
}

int dlc_compile_file(const char* model_path, const char* artifact_path, const dlc_compile_options* options, char* error,
                     size_t error_capacity) {
  if (!model_path || !artifact_path) return report("dlc_compile_file: model_path and artifact_path are required", error, error_capacity);
  dlc_compile_options defaults;
  dlc_compile_options_init(&defaults);
  if (!options) options = &defaults;
  if (options->opt_level < 0 || options->opt_level > 3)
    return report("dlc_compile_file: opt_level must be 0..3", error, error_capacity);
  std::vector<std::string> args = {model_path, "-o", artifact_path, "--target", options->target ? options->target : "reference",
                                   "-O" + std::to_string(options->opt_level)};
  for (size_t i = 0; i < options->input_shape_count; ++i) {
    if (!options->input_shapes || !options->input_shapes[i]) return report("dlc_compile_file: a NULL input shape", error, error_capacity);
    args.insert(args.end(), {"--input-shape", options->input_shapes[i]});
  }
  if (options->cpu) args.insert(args.end(), {"--cpu", options->cpu});
  return run("compile", args, error, error_capacity);
}

int dlc_compiler_run(int argc, const char* const* argv, char* error, size_t error_capacity) {
  if (argc < 1 || !argv || !argv[0]) return report("dlc_compiler_run: argv[0] must name a subcommand", error, error_capacity);
  std::vector<std::string> args;
  for (int i = 1; i < argc; ++i) {
    if (!argv[i]) return report("dlc_compiler_run: a NULL argument", error, error_capacity);
    args.emplace_back(argv[i]);
  }
  return run(argv[0], args, error, error_capacity);
}

}  // extern "C"
