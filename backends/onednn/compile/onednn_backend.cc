// The onednn target of `dlc compile`: runs of consecutive ops the oneDNN library lowers become
// one step each (layouts carried inside), the rest stay reference steps. Whether an op is
// supported is decided by lowering it, so an artifact never holds a step its library refuses.
#include <cstdio>
#include <cstdlib>

#include "backends/backend.h"
#include "backends/onednn/library/program.h"
#include "ir/constant_value.h"
#include "ir/parser.h"

namespace dlc::backends {
namespace {

// Lowers `ops` as the library will at load (from the same textual payload), with the values of
// Constant producers as the weights.
Status tryLower(const std::vector<const Op*>& ops) {
  StepCode code = irStep("onednn", "segment", ops);
  DLC_ASSIGN_OR_RETURN(auto graph, parseGraph(code.payload, "segment"));
  std::vector<Tensor> keep;
  std::vector<const void*> constants;
  for (const Value* v : segmentInputs(ops)) {
    const Op* def = v->definingOp();
    if (def && def->kind() == OpKind::Constant) {
      DLC_ASSIGN_OR_RETURN(Tensor t, constantOpValue(*def));
      keep.push_back(t);
      constants.push_back(keep.back().raw());
    } else {
      constants.push_back(nullptr);
    }
  }
  return onednn::Program::build(*graph, constants).status();
}

class OnednnBackend : public Backend {
 public:
  const char* name() const override { return "onednn"; }

  bool supports(const Op& op) const override {
    if (!onednn::loweringFor(op.kind())) return false;
    for (int i = 0; i < op.numResults(); ++i)
      if (!op.result(i)->type().isTensor() || !op.result(i)->type().shape.isStatic()) return false;
    for (const Value* v : op.operands())
      if (v && (!v->type().isTensor() || !v->type().shape.isStatic())) return false;
    Status lowered = tryLower({&op});
    // DLC_ONEDNN_EXPLAIN=1 says why an op stays with the reference kernels.
    if (!lowered.ok() && std::getenv("DLC_ONEDNN_EXPLAIN")) std::fprintf(stderr, "onednn: %s\n", lowered.message().c_str());
    return lowered.ok();
  }

  Expected<ArtifactParts> compile(const Graph& graph, const CompileOptions&) const override {
    ArtifactParts parts;
    std::vector<const Op*> run;
    auto flush = [&] {
      if (run.empty()) return;
      Status lowered = tryLower(run);
      if (lowered.ok()) {
        parts.segments.push_back({run, irStep("onednn", "segment", run)});
      } else {
        if (std::getenv("DLC_ONEDNN_EXPLAIN")) std::fprintf(stderr, "onednn: one segment per op: %s\n", lowered.message().c_str());
        for (const Op* op : run) parts.segments.push_back({{op}, irStep("onednn", "segment", {op})});
      }
      run.clear();
    };
    for (const auto& op : graph.body().ops()) {
      if (op->kind() == OpKind::Constant) continue;  // weights, not steps: a run goes on past them
      if (supports(*op)) {
        run.push_back(op.get());
      } else {
        flush();
      }
    }
    flush();
    return parts;
  }
};

}  // namespace

std::unique_ptr<Backend> makeOnednnBackend() { return std::make_unique<OnednnBackend>(); }

}  // namespace dlc::backends
