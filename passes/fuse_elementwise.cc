// Fuses trees of single-use f32 elementwise ops into one FusedElementwise op whose body holds them.
#include <algorithm>
#include <unordered_map>
#include <unordered_set>

#include "passes/pass.h"
#include "passes/pattern.h"

namespace dlc::passes {
namespace {

// An op that may go into a fused body: pure, elementwise, one f32 tensor result with known rank,
// not already inside a fused body.
bool isFusible(const Op& op) {
  if (!op.info().has(kElementwise) || op.info().has(kSideEffects) || op.numResults() != 1 || !op.regions().empty())
    return false;
  const Type& t = op.result()->type();
  if (!t.isTensor() || t.dtype != DType::F32 || !t.shape.ranked) return false;
  const Op* parent = op.parent() ? op.parent()->parentOp() : nullptr;
  return !(parent && parent->kind() == OpKind::FusedElementwise);
}

// True when `s` broadcasts into `root` without growing it: right-aligned dims are 1 or the same
// known (static or symbolic) dim.
bool broadcastsInto(const Shape& s, const Shape& root) {
  if (s.rank() > root.rank()) return false;
  const int off = root.rank() - s.rank();
  for (int i = 0; i < s.rank(); ++i) {
    const Dim& d = s.dims[static_cast<size_t>(i)];
    const Dim& r = root.dims[static_cast<size_t>(off + i)];
    if (d.isStatic() && d.value == 1) continue;
    if (d != r || !(d.isStatic() || d.isSymbolic())) return false;
  }
  return true;
}

// True when the op producing `v` joins the tree of `root` (which uses v): fusible, single use, and
// its result broadcasts into the root's shape.
bool joins(const Value* v, const Op& root) {
  const Op* p = v ? v->definingOp() : nullptr;
  return p && p->parent() == root.parent() && isFusible(*p) && hasSingleUse(v) &&
         broadcastsInto(v->type().shape, root.result()->type().shape);
}

// Collects the tree rooted at `op` (producers first) into `ops`.
void collectTree(Op* op, const Op& root, std::vector<Op*>* ops) {
  for (Value* in : op->operands())
    if (joins(in, root)) collectTree(in->definingOp(), root, ops);
  ops->push_back(op);
}

// A tree of elementwise ops e_1..e_n (n >= 2, intermediates used once, inside the tree) with
// external inputs x_1..x_m and root result y  ==>  y = FusedElementwise(x_1..x_m){body = e_1..e_n}.
// Anchored at the root: a fusible op whose single user would not absorb it.
class FuseElementwisePattern : public RewritePattern {
 public:
  const char* name() const override { return "fuse-elementwise"; }
  Expected<bool> matchAndRewrite(Op& root, Rewriter& rw) const override {
    if (!isFusible(root)) return false;
    Value* y = root.result();
    if (hasSingleUse(y)) {
      Op* user = y->uses()[0].user;
      if (isFusible(*user) && joins(y, *user)) return false;  // the user's tree takes this op
    }
    std::vector<Op*> ops;
    collectTree(&root, root, &ops);
    if (ops.size() < 2) return false;
    // Keep the region's order so the body is in a valid order too.
    std::unordered_set<const Op*> members(ops.begin(), ops.end());
    std::vector<Op*> ordered;
    for (const auto& op : root.parent()->ops())
      if (members.count(op.get())) ordered.push_back(op.get());
    auto body = std::make_shared<Region>();
    std::unordered_map<const Value*, Value*> map;
    std::vector<Value*> inputs;
    for (Op* op : ordered) {
      std::vector<Value*> operands;
      for (Value* in : op->operands()) {
        if (!in) {
          operands.push_back(nullptr);
          continue;
        }
        auto it = map.find(in);
        if (it == map.end()) {
          Value* arg = body->addArgument(in->type(), in->name());
          inputs.push_back(in);
          it = map.emplace(in, arg).first;
        }
        operands.push_back(it->second);
      }
      Op* clone = body->createOp(op->kind(), operands, {op->result()->type()});
      clone->result()->setName(op->result()->name());
      for (const auto& [n, a] : op->attrs()) clone->setAttr(n, a);
      clone->setLocation(op->location());
      map[op->result()] = clone->result();
    }
    body->setOutputs({map[y]});
    DLC_ASSIGN_OR_RETURN(Op* fused, rw.create(OpKind::FusedElementwise, inputs,
                                              {{"body", Attribute::ofGraph(std::move(body))}}, 1, root.location()));
    rw.replaceOp(root, {fused->result()});
    for (auto it = ordered.rbegin(); it != ordered.rend(); ++it)
      if (*it != &root) rw.eraseOp(**it);
    return true;
  }
};

class FuseElementwise : public Pass {
 public:
  Status run(Graph& graph, const PassContext&) override {
    PatternList patterns;
    patterns.push_back(std::make_unique<FuseElementwisePattern>());
    DLC_ASSIGN_OR_RETURN(int n, applyPatternsGreedily(graph.body(), patterns));
    (void)n;
    return Status::success();
  }
};

}  // namespace

std::unique_ptr<Pass> createFuseElementwisePass() { return std::make_unique<FuseElementwise>(); }

}  // namespace dlc::passes
