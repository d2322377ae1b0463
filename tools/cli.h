// Shared pieces of the `dlc` subcommands: argument parsing, model loading, error reporting.
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "ir/graph.h"
#include "ir/status.h"

namespace dlc::cli {

// Parsed command line of one subcommand: positional arguments and options (repeatable).
// Options are `--name value`, `--name=value` or bare `--flag`; `-o X` is `--output X`.
class Args {
 public:
  // `flags` lists the options that take no value; every other option needs one.
  static Expected<Args> parse(const std::vector<std::string>& argv, const std::vector<std::string>& value_options,
                              const std::vector<std::string>& flags);

  const std::vector<std::string>& positional() const { return positional_; }
  bool has(const std::string& name) const { return options_.count(name) != 0; }
  std::string get(const std::string& name, const std::string& fallback = {}) const;
  std::vector<std::string> getAll(const std::string& name) const;

 private:
  std::vector<std::string> positional_;
  std::multimap<std::string, std::string> options_;
};

// A whole-string integer option >= `min` (at most 1,000,000), or `fallback` when absent.
Expected<int> intOption(const Args& args, const std::string& name, int fallback, int min);
// A whole-string finite number in [min, max], or `fallback` when absent.
Expected<double> doubleOption(const Args& args, const std::string& name, double fallback, double min, double max);
// A comma-separated list (empty items dropped).
std::vector<std::string> splitList(const std::string& text);

// Loads a model from .onnx (import) or .dlcir (textual IR), verifying it.
Expected<std::unique_ptr<Graph>> loadModel(const std::string& path);

// `s` as a JSON string literal, quotes included.
std::string jsonQuote(const std::string& s);

// Writes `text` to the file `path`, or to stdout when `path` is empty; returns the exit status.
int writeText(const std::string& text, const std::string& path);

// True when `s` ends in `suffix`.
bool endsWith(const std::string& s, const std::string& suffix);

// Writes `bytes` to `path + ".tmp"` and renames it into place: never a partial file at `path`.
Status writeFileAtomically(const std::string& path, const std::string& bytes);

// Prints `dlc: error: <message>` to stderr and returns the exit status 1.
int fail(const Status& status);
int fail(const std::string& message);

// While one is alive on this thread, fail() stores its one-line message in `*sink` instead of
// printing it: the Python package runs the subcommands in-process and raises the message.
class ErrorCapture {
 public:
  explicit ErrorCapture(std::string* sink);
  ~ErrorCapture();
  ErrorCapture(const ErrorCapture&) = delete;
  ErrorCapture& operator=(const ErrorCapture&) = delete;

 private:
  std::string* previous_;
};

// What `dlc train` reports after each epoch (tools/train_loop.h); a callback returning false stops
// the training there (the model trained so far is still written).
struct EpochStats;
using EpochCallback = std::function<bool(const EpochStats&)>;

int runImport(const std::vector<std::string>& args);
int runRun(const std::vector<std::string>& args);
int runInspect(const std::vector<std::string>& args);
int runBench(const std::vector<std::string>& args);
int runOpt(const std::vector<std::string>& args);
int runCompile(const std::vector<std::string>& args);
int runExport(const std::vector<std::string>& args);
int runTrain(const std::vector<std::string>& args, const EpochCallback& on_epoch = {});
int runQuantize(const std::vector<std::string>& args);
int runPrune(const std::vector<std::string>& args);

// The subcommand called `name` (import, run, ..., prune), or null: one table for the executable,
// the Python package and libdlc_compiler.
using Command = int (*)(const std::vector<std::string>& args);
Command findCommand(const std::string& name);

}  // namespace dlc::cli
