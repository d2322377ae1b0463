// Default pipelines. -O0 runs nothing; each higher level adds passes. Targets differ only where a
// backend has its own needs (none yet: every target gets the same graph-level pipeline).
#include "passes/pipelines.h"

namespace dlc::passes {

Expected<std::vector<std::string>> pipelineFor(const std::string& target, int opt_level) {
  if (target != "reference" && target != "cpu" && target != "onednn" && target != "cuda")
    return Status::error(str("unknown target '", target, "' (expected reference, cpu, onednn or cuda)"));
  std::vector<std::string> p;
  if (opt_level >= 1) p.insert(p.end(), {"dce"});
  return p;
}

}  // namespace dlc::passes
