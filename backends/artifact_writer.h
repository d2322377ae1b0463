// Writes a .dlc artifact: an optimized graph plus a backend's parts, laid out for the runtime.
#pragma once

#include <string>
#include <vector>

#include "backends/backend.h"

namespace dlc::backends {

// A training state of the artifact: graph input `input` (its position) is fed by the session and
// replaced by graph output `output` after each run, starting from `initial` (see runtime.h).
struct StateSpec {
  int input = 0;
  int output = 0;
  Tensor initial;
};

struct ArtifactOptions {
  std::string target = "reference";
  std::string producer = "dlc 0.1";
  CompileOptions compile;
  std::vector<StateSpec> states;
};

// Plans memory, lays out weights (64-byte aligned), turns every top-level op into a step (the
// backend's, or the reference kernels' for ops it leaves out) and returns the file's bytes.
// Errors name the value or op that cannot be carried (sequence/optional/string values at the top
// level; artifacts over 2 GiB, the FlatBuffers limit).
Expected<std::string> writeArtifact(const Graph& graph, const ArtifactOptions& options);

}  // namespace dlc::backends
