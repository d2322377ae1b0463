// The reference target of `dlc compile`: every op becomes a step of the reference kernel library,
// described by its textual IR (exact: the printer/parser round-trip is tested bit for bit).
#include "backends/backend.h"
#include "backends/reference/interpreter.h"

namespace dlc::backends {

StepCode referenceStep(const Op& op) { return irStep("reference", op.name(), {&op}); }

namespace {

class ReferenceBackend : public Backend {
 public:
  const char* name() const override { return "reference"; }

  bool supports(const Op& op) const override {
    Graph probe;  // unsupportedOps reads a graph; ask about this op's kind alone
    probe.body().createOp(op.kind(), {}, {});
    return ref::unsupportedOps(probe).empty();
  }

  Expected<ArtifactParts> compile(const Graph& graph, const CompileOptions&) const override {
    std::vector<OpKind> missing = ref::unsupportedOps(graph);
    if (!missing.empty()) {
      std::string names;
      for (OpKind k : missing) names += str(names.empty() ? "" : ", ", opName(k));
      return Status::error(str("the reference backend has no kernel for: ", names));
    }
    return ArtifactParts{};  // every step falls back to referenceStep
  }
};

}  // namespace

std::unique_ptr<Backend> makeReferenceBackend() { return std::make_unique<ReferenceBackend>(); }

}  // namespace dlc::backends
