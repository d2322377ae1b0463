// Runs a sequence of passes with the verifier between them, IR dumps and per-pass timing.
#pragma once

#include <functional>
#include <ostream>
#include <set>
#include <string>
#include <vector>

#include "passes/pass.h"

namespace dlc::passes {

struct PassManagerOptions {
  bool verify_each = true;               // run the verifier after every pass
  std::set<std::string> print_ir_after;  // pass names whose output IR is printed
  bool print_ir_after_all = false;
  bool time_passes = false;              // print a per-pass timing table at the end
  std::ostream* log = nullptr;           // where dumps and timings go (stderr when null)
  // Called before each pass with its name, the passes done and their total (progress bars).
  std::function<void(const std::string& pass, size_t done, size_t total)> on_pass;
};

class PassManager {
 public:
  explicit PassManager(PassManagerOptions options = {}) : options_(std::move(options)) {}

  // Appends passes by name; fails naming the first unknown one.
  Status add(const std::vector<std::string>& names);
  const std::vector<std::string>& names() const { return names_; }

  // Runs every pass in order. A failure names the pass; a verifier failure after a pass names the
  // pass that broke the IR.
  Status run(Graph& graph, const PassContext& ctx) const;

 private:
  PassManagerOptions options_;
  std::vector<std::string> names_;
};

// The default pipeline of a target at an optimization level 0..3 (pass names, in order).
Expected<std::vector<std::string>> defaultPipeline(const std::string& target, int opt_level);

// Splits "a,b,c" into names (empty items dropped).
std::vector<std::string> splitPassList(const std::string& list);

}  // namespace dlc::passes
