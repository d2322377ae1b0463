// The one interface every backend implements for `dlc compile`, and the registry of backends.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include "ir/graph.h"
#include "ir/status.h"

namespace dlc::backends {

// One kernel call in an artifact: which runtime kernel library runs it, which of its kernels, and
// the library's own description of the call.
struct StepCode {
  std::string library;
  std::string kernel;
  std::string payload;
};

struct NativeSection {
  std::string format;
  std::string code;
};

struct CompileOptions {
  std::string cpu;     // --cpu (code-generating backends)
  std::string triple;  // --triple
  // When set, the backend lowers only the top-level ops this accepts (another backend compiles the
  // rest: see Backend::prefers).
  std::function<bool(const Op&)> take;
  // Code-generating backends report their stages (progress bars): the stage, stages done, total.
  std::function<void(const char* stage, int done, int total)> progress;
};

// Consecutive top-level ops that run as one step. Its inputs are the values the ops use from
// elsewhere (segmentInputs), its outputs those they define and the rest of the graph uses.
struct Segment {
  std::vector<const Op*> ops;
  StepCode code;
};

// What a backend contributes to an artifact. Top-level ops outside its segments run through the
// reference kernels (principle 9: ops a backend lacks are never a failure to compile).
struct ArtifactParts {
  std::vector<std::string> cpu_features;
  std::vector<Segment> segments;
  std::vector<NativeSection> native_code;
};

class Backend {
 public:
  virtual ~Backend() = default;
  virtual const char* name() const = 0;
  virtual bool supports(const Op& op) const = 0;
  // Whether this backend has a kernel for `op` faster than another CPU backend's usual one (the cpu
  // target's sparse-weight kernels), so that the other hands it the op (CompileOptions::take).
  virtual bool prefers(const Op&) const { return false; }
  virtual Expected<ArtifactParts> compile(const Graph& graph, const CompileOptions& options) const = 0;
};

// The values consecutive top-level `ops` use from elsewhere (operands, and outer values their
// regions capture), each once in first-use order: the inputs of their step.
std::vector<const Value*> segmentInputs(const std::vector<const Op*>& ops);
// The results of `ops` used after them or returned by the graph, in definition order (results
// nothing uses are not outputs: the kernel may compute them, but nobody keeps them).
std::vector<const Value*> segmentOutputs(const std::vector<const Op*>& ops);

// Backends register once at start-up (backend.cc lists them); null for an unknown name.
const Backend* findBackend(const std::string& name);
std::vector<std::string> backendNames();

// The reference backend's step for one op; other backends use it for the ops they leave out.
StepCode referenceStep(const Op& op);
// A step whose payload is `ops` as textual IR (printOpsAsGraph).
StepCode irStep(const std::string& library, const std::string& kernel, const std::vector<const Op*>& ops);

}  // namespace dlc::backends
