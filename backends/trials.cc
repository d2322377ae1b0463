// Trial sizes for graphs with symbolic dims (trials.h).
#include "backends/trials.h"

#include <algorithm>

#include "backends/reference/interpreter.h"
#include "ir/clone.h"
#include "ir/constant_value.h"
#include "ir/infer/infer.h"
#include "ir/reinfer.h"

namespace dlc::backends {
namespace {

constexpr int64_t kMaxShapeValue = 64;  // elements of a value computed from shapes

bool smallStatic(const Value* v) {
  return v->type().isTensor() && v->type().shape.isStatic() && v->type().shape.numElements() <= kMaxShapeValue;
}

// The values of small tensors computed from shapes at the trial's sizes (Shape -> Gather -> Concat
// -> a Slice's ends, as a causal mask sliced to the sequence length is): Shape ops of static
// inputs, then every op without regions or side effects whose operands are such values or
// constants, evaluated by the reference kernels. At run time these are known too (reference steps
// compute them before the ops whose types read them).
bool addShapeValues(const Region& body, KnownValues& known) {
  bool added = false;
  for (const auto& op : body.ops()) {
    if (op->kind() == OpKind::Constant || !op->regions().empty() || op->info().has(kSideEffects) || op->numResults() == 0) continue;
    if (known.count(op->result(0))) continue;
    if (op->kind() == OpKind::Shape) {
      const Value* x = op->operand(0);
      if (!x->type().isTensor() || !x->type().shape.isStatic()) continue;
      const std::vector<int64_t> dims = x->type().shape.staticSizes();
      const int64_t rank = static_cast<int64_t>(dims.size());
      auto clamp = [&](int64_t a) { return std::clamp<int64_t>(a < 0 ? a + rank : a, 0, rank); };
      const int64_t start = clamp(op->getInt("start", 0)), end = clamp(op->getInt("end", rank));
      std::vector<int64_t> part(dims.begin() + start, dims.begin() + std::max(start, end));
      known.emplace(op->result(0), Tensor::fromVector<int64_t>(DType::I64, {static_cast<int64_t>(part.size())}, part));
      added = true;
      continue;
    }
    std::vector<Tensor> holders;
    std::vector<const Tensor*> inputs;
    bool ready = true;
    holders.reserve(static_cast<size_t>(op->numOperands()));
    for (const Value* v : op->operands()) {
      if (!v) {
        inputs.push_back(nullptr);
        continue;
      }
      if (auto it = known.find(v); it != known.end()) {
        inputs.push_back(&it->second);
      } else if (v->definingOp() && v->definingOp()->kind() == OpKind::Constant && smallStatic(v)) {
        auto t = constantOpValue(*v->definingOp());
        if (!t.ok()) ready = false;
        else {
          holders.push_back(*t);
          inputs.push_back(&holders.back());
        }
      } else {
        ready = false;
      }
      if (!ready) break;
    }
    for (int r = 0; ready && r < op->numResults(); ++r) ready = smallStatic(op->result(r));
    if (!ready) continue;
    auto out = ref::evaluateOp(*op, inputs);
    if (!out.ok() || out->size() != static_cast<size_t>(op->numResults())) continue;
    for (int r = 0; r < op->numResults(); ++r) known.emplace(op->result(r), (*out)[static_cast<size_t>(r)]);
    added = true;
  }
  return added;
}

}  // namespace

bool isStaticTensor(const Value* v) { return v->type().isTensor() && v->type().shape.isStatic(); }

bool opIsStatic(const Op& op) {
  for (int i = 0; i < op.numResults(); ++i)
    if (!isStaticTensor(op.result(i))) return false;
  for (const Value* v : op.operands())
    if (v && !isStaticTensor(v)) return false;
  return true;
}

std::vector<Trial> makeTrials(const Graph& graph) {
  bool all_static = true;
  for (const auto& op : graph.body().ops()) all_static = all_static && opIsStatic(*op);
  if (all_static) return {};
  std::vector<std::string> symbols;
  for (int i = 0; i < graph.body().numArguments(); ++i)
    for (const Dim& d : graph.body().argument(i)->type().shape.dims)
      if (d.isSymbolic() && std::find(symbols.begin(), symbols.end(), d.symbol) == symbols.end()) symbols.push_back(d.symbol);
  std::vector<std::pair<std::string, SymbolSizes>> candidates(3);
  for (size_t i = 0; i < symbols.size(); ++i) {
    candidates[0].second[symbols[i]] = 64 + 32 * static_cast<int64_t>(i);
    candidates[1].second[symbols[i]] = 64;
    candidates[2].second[symbols[i]] = 1;
  }
  candidates[0].first = "at distinct trial sizes";
  candidates[1].first = "with every symbol 64";
  candidates[2].first = "with every symbol 1";
  std::vector<Trial> trials;
  for (size_t c = 0; c < candidates.size(); ++c) {
    if (c == 1 && !trials.empty()) continue;  // the distinct sizes were taken
    Trial t;
    t.what = candidates[c].first;
    t.graph = std::make_unique<Graph>();
    t.graph->opset_imports = graph.opset_imports;
    std::unordered_map<const Value*, Value*> map;
    cloneRegionInto(graph.body(), t.graph->body(), map);
    Region& body = t.graph->body();
    for (int i = 0; i < body.numArguments(); ++i) body.argument(i)->setType(substituteSymbols(body.argument(i)->type(), candidates[c].second));
    if (!reinferTypes(body, candidates[c].second).ok()) continue;  // sizes the model does not take
    KnownValues known;
    bool inferred = true;
    for (int round = 0; inferred && round < 4 && addShapeValues(body, known); ++round)
      inferred = reinferTypes(body, candidates[c].second, &known).ok();
    if (!inferred) continue;
    for (const auto& op : graph.body().ops())
      if (op->numResults() > 0) t.ops[op.get()] = map.at(op->result(0))->definingOp();
    trials.push_back(std::move(t));
  }
  return trials;
}

}  // namespace dlc::backends
