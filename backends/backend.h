// The one interface every backend implements for `dlc compile`, and the registry of backends.
#pragma once

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
};

// What a backend contributes to an artifact. Top-level ops without a step here run through the
// reference kernels (principle 9: ops a backend lacks are never a failure to compile).
struct ArtifactParts {
  std::vector<std::string> cpu_features;
  std::unordered_map<const Op*, StepCode> steps;
  std::vector<NativeSection> native_code;
};

class Backend {
 public:
  virtual ~Backend() = default;
  virtual const char* name() const = 0;
  virtual bool supports(const Op& op) const = 0;
  virtual Expected<ArtifactParts> compile(const Graph& graph, const CompileOptions& options) const = 0;
};

// The operands of top-level `op` and the outer values its regions capture, each once, in first-use
// order: the inputs of its step.
std::vector<const Value*> stepInputs(const Op& op);

// Backends register once at start-up (backend.cc lists them); null for an unknown name.
const Backend* findBackend(const std::string& name);
std::vector<std::string> backendNames();

// The reference backend's step for one op; other backends use it for the ops they leave out.
StepCode referenceStep(const Op& op);

}  // namespace dlc::backends
