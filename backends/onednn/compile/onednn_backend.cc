// The onednn target of `dlc compile`: runs of consecutive ops the oneDNN library lowers become
// one step each (layouts carried inside), the rest stay reference steps. MatMuls the cpu target
// has a faster kernel for (its sparse-weight one: oneDNN 2.6 has no sparse primitives) are its
// steps. Whether an op is supported is decided by lowering it, so an artifact never holds a step
// its library refuses.
#include <cstdio>
#include <cstdlib>
#include <algorithm>
#include <unordered_map>
#include <unordered_set>

#include "backends/backend.h"
#include "backends/trials.h"
#include "backends/onednn/library/program.h"
#include "ir/clone.h"
#include "ir/constant_value.h"
#include "ir/reinfer.h"
#include "ir/parser.h"

namespace dlc::backends {
namespace {

// Lowers `ops` as the library will at load (from the same textual payload), with the values of
// Constant producers as the weights. The ops' types must be static.
Status tryLower(const std::vector<const Op*>& ops, onednn::RepackCache* repacked = nullptr) {
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
  return onednn::Program::build(*graph, constants, repacked).status();
}

// A segment whose types are not all static is lowered at run time once per shape (the library
// re-infers the segment from its inputs); here it is lowered at every trial size (trials.h).
// Lowers `ops`: as they are when their types are static, else at every trial (at least one).
Status tryLowerAnyShape(const std::vector<const Op*>& ops, const std::vector<Trial>& trials) {
  if (std::all_of(ops.begin(), ops.end(), [](const Op* op) { return opIsStatic(*op); })) return tryLower(ops);
  if (trials.empty()) return Status::error(str(onednn::where(*ops.front()), ": its types are not static and no trial sizes of the inputs infer"));
  onednn::RepackCache repacked;  // the trials share weights
  for (const Trial& t : trials) {
    std::vector<const Op*> copies;
    for (const Op* op : ops) copies.push_back(t.ops.at(op));
    if (!std::all_of(copies.begin(), copies.end(), [](const Op* op) { return opIsStatic(*op); }))
      return Status::error(str(onednn::where(*ops.front()), ": a type stays unknown ", t.what, " (it depends on values)"));
    DLC_RETURN_IF_ERROR(tryLower(copies, &repacked).withContext(t.what));
  }
  return Status::success();
}

bool ranked(const Op& op) {
  for (int i = 0; i < op.numResults(); ++i)
    if (!op.result(i)->type().isTensor() || !op.result(i)->type().shape.ranked) return false;
  for (const Value* v : op.operands())
    if (v && (!v->type().isTensor() || !v->type().shape.ranked)) return false;
  return true;
}

class OnednnBackend : public Backend {
 public:
  const char* name() const override { return "onednn"; }

  bool supports(const Op& op) const override { return lowerable(op, {}); }

  // An op the library takes, at its own types or (when not static) at every trial's.
  bool lowerable(const Op& op, const std::vector<Trial>& trials) const {
    if (!onednn::loweringFor(op.kind()) || !ranked(op)) return false;
    Status lowered = tryLowerAnyShape({&op}, trials);
    // DLC_ONEDNN_EXPLAIN=1 says why an op stays with the reference kernels.
    if (!lowered.ok() && std::getenv("DLC_ONEDNN_EXPLAIN")) std::fprintf(stderr, "onednn: %s\n", lowered.message().c_str());
    return lowered.ok();
  }

  Expected<ArtifactParts> compile(const Graph& graph, const CompileOptions& options) const override {
    // MatMuls by a pruned weight go to the cpu target's sparse kernel where it is faster than the
    // dense one: BERT-base pruned 80%/90% then runs 0.70-0.77x the dense onednn latency. Pruned
    // convolutions stay oneDNN's: handed over (with the reorders from oneDNN's blocked layouts
    // and back), resnet50 at 90% ran 0.92-1.24x the dense onednn latency over three runs (bench/
    // prune_compare, 2 cores, 2026-12-03), no faster on the whole.
    const Backend* cpu = findBackend("cpu");
    std::unordered_set<const Op*> handed;  // to the cpu target
    if (cpu)
      for (const auto& op : graph.body().ops())
        if ((op->kind() == OpKind::MatMul || op->kind() == OpKind::FusedMatMul) && cpu->prefers(*op)) {
          handed.insert(op.get());
          if (std::getenv("DLC_ONEDNN_EXPLAIN"))
            std::fprintf(stderr, "onednn: %s '%s': the cpu target's sparse kernel\n", op->name(), op->location().c_str());
        }
    const std::vector<Trial> trials = makeTrials(graph);
    ArtifactParts parts;
    std::vector<const Op*> run;
    auto flush = [&] {
      if (run.empty()) return;
      Status lowered = tryLowerAnyShape(run, trials);
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
      if (!handed.count(op.get()) && lowerable(*op, trials)) {
        run.push_back(op.get());
      } else {
        flush();
      }
    }
    flush();
    if (!handed.empty()) {
      CompileOptions only = options;
      only.take = [&](const Op& op) { return handed.count(&op) != 0; };
      DLC_ASSIGN_OR_RETURN(ArtifactParts cpu_parts, cpu->compile(graph, only));
      for (Segment& seg : cpu_parts.segments) parts.segments.push_back(std::move(seg));
      for (NativeSection& n : cpu_parts.native_code) parts.native_code.push_back(std::move(n));
      parts.cpu_features = std::move(cpu_parts.cpu_features);
    }
    return parts;
  }
};

}  // namespace

std::unique_ptr<Backend> makeOnednnBackend() { return std::make_unique<OnednnBackend>(); }

}  // namespace dlc::backends
