// Reverse-mode differentiation: finds the ops between the differentiated values and y, rewrites
// the ones with decomposition rules, then sweeps them in reverse applying each op's rule and
// summing the gradients of values used more than once.
#include "passes/autodiff/autodiff.h"

#include <algorithm>
#include <array>
#include <unordered_map>
#include <unordered_set>

#include "passes/autodiff/rules.h"

namespace dlc::autodiff {
namespace {

using ValueSet = std::unordered_set<const Value*>;

const std::array<GradEntry, kNumOpKinds>& table() {
  static const std::array<GradEntry, kNumOpKinds> t = [] {
    std::array<GradEntry, kNumOpKinds> e{};
#define DLC_GRAD(Name, Fn) e[static_cast<size_t>(OpKind::Name)].rule = &Fn;
#define DLC_GRAD_DECOMPOSE(Name, Fn) e[static_cast<size_t>(OpKind::Name)].decompose = &Fn;
#include "passes/autodiff/gradients.def"
#undef DLC_GRAD
#undef DLC_GRAD_DECOMPOSE
    return e;
  }();
  return t;
}

// Every value an op reads: its operands and, for ops with regions, the outer values those capture.
void collectReads(const Op& op, std::vector<const Value*>& out) {
  for (Value* v : op.operands())
    if (v) out.push_back(v);
  for (Region* r : op.regions())
    walkOps(*r, [&](const Op* inner) {
      for (Value* v : inner->operands())
        if (v) out.push_back(v);  // values defined inside are harmless extras
    });
}

// The ops of `region` that lie on a path from `xs` to `y`, in program order, plus the set of
// values that depend on xs (the only ones that need gradients).
struct ActivePath {
  std::vector<Op*> ops;
  ValueSet depends;
};

ActivePath activePath(Region& region, Value* y, const std::vector<Value*>& xs) {
  ActivePath p;
  for (Value* x : xs) p.depends.insert(x);
  std::vector<Op*> order;
  for (const auto& op : region.ops()) order.push_back(op.get());
  std::vector<const Value*> reads;
  for (Op* op : order) {
    if (op->kind() == OpKind::StopGradient) continue;  // its result depends on nothing differentiated
    reads.clear();
    collectReads(*op, reads);
    bool active = false;
    for (const Value* v : reads) active = active || p.depends.count(v);
    if (!active) continue;
    for (int i = 0; i < op->numResults(); ++i)
      if (isDifferentiableType(op->result(i)->type())) p.depends.insert(op->result(i));
  }
  ValueSet relevant{y};
  std::vector<Op*> reversed;
  for (auto it = order.rbegin(); it != order.rend(); ++it) {
    Op* op = *it;
    bool on_path = false;
    for (int i = 0; i < op->numResults(); ++i)
      on_path = on_path || (relevant.count(op->result(i)) && p.depends.count(op->result(i)));
    if (!on_path) continue;
    reversed.push_back(op);
    reads.clear();
    collectReads(*op, reads);
    for (const Value* v : reads) relevant.insert(v);
  }
  p.ops.assign(reversed.rbegin(), reversed.rend());
  return p;
}

std::string describe(const Op& op) { return str(op.name(), " '", op.location(), "'"); }

// Rewrites, one at a time, the ops on the path whose decomposition rule applies; returns whether
// one did (the path must then be recomputed).
Expected<bool> decomposeOne(const ActivePath& path) {
  for (Op* op : path.ops) {
    const GradEntry& e = table()[static_cast<size_t>(op->kind())];
    if (!e.decompose) continue;
    DLC_ASSIGN_OR_RETURN(bool rewritten, e.decompose(*op));
    if (rewritten) return true;
  }
  return false;
}

// Gradient contributions per value, summed when first read.
class Accumulator {
 public:
  void add(Value* v, Value* g) { parts_[v].push_back(g); }
  Value* take(Value* v, Emitter& e) {
    auto it = parts_.find(v);
    if (it == parts_.end() || it->second.empty()) return nullptr;
    Value* sum = it->second[0];
    for (size_t i = 1; i < it->second.size(); ++i) sum = e.add(sum, it->second[i]);
    it->second.assign(1, sum);
    return sum;
  }

 private:
  std::unordered_map<const Value*, std::vector<Value*>> parts_;
};

bool compatibleShapes(const Shape& a, const Shape& b) {
  if (!a.ranked || !b.ranked) return true;
  if (a.rank() != b.rank()) return false;
  for (int i = 0; i < a.rank(); ++i) {
    const Dim &da = a.dims[static_cast<size_t>(i)], &db = b.dims[static_cast<size_t>(i)];
    if (da.isStatic() && db.isStatic() && da.value != db.value) return false;
  }
  return true;
}

}  // namespace

bool isDifferentiableType(const Type& t) { return t.isTensor() && isFloat(t.dtype); }

const GradEntry* gradEntry(OpKind kind) {
  const GradEntry& e = table()[static_cast<size_t>(kind)];
  return e.rule || e.decompose ? &e : nullptr;
}

GradContext::GradContext(Op& op, std::vector<Value*> dresults, std::vector<bool> needed, Region& region, Op* before)
    : Emitter(region, before, op.location().empty() ? str(op.name(), ".grad") : op.location() + ".grad"),
      dx(static_cast<size_t>(op.numOperands()), nullptr),
      op_(op),
      dresults_(std::move(dresults)),
      needed_(std::move(needed)) {}

Value* GradContext::dyOrZeros(int i) {
  Value* g = dy(i);
  return g ? g : zerosLike(y(i));
}

Expected<std::vector<Value*>> gradients(Value* y, Value* seed, const std::vector<Value*>& xs, Op* before) {
  if (!y) return Status::error("gradient of a null value");
  Region* region = y->definingOp() ? y->definingOp()->parent() : y->argumentOf();
  if (!region) return Status::error(str("value '", y->name(), "' belongs to no region"));
  if (!isDifferentiableType(y->type()))
    return Status::error(str("cannot differentiate '", y->name(), "' of type ", y->type().toString(), " (not a float tensor)"));
  for (Value* x : xs) {
    Region* xr = !x ? nullptr : x->definingOp() ? x->definingOp()->parent() : x->argumentOf();
    if (xr != region)
      return Status::error(str("cannot differentiate with respect to '", x ? x->name() : "<null>",
                               "': it is not a value of the region that computes '", y->name(), "'"));
    if (!isDifferentiableType(x->type()))
      return Status::error(str("cannot differentiate with respect to '", x->name(), "' of type ", x->type().toString(),
                               " (not a float tensor)"));
  }
  if (before && before->parent() != region) return Status::error("internal error: insertion point outside the region");

  ActivePath path = activePath(*region, y, xs);
  for (;;) {
    DLC_ASSIGN_OR_RETURN(bool changed, decomposeOne(path));
    if (!changed) break;
    path = activePath(*region, y, xs);
  }

  // Every op on the path needs a rule; name all that lack one at once.
  std::vector<std::string> missing;
  for (Op* op : path.ops)
    if (!table()[static_cast<size_t>(op->kind())].rule) missing.push_back(describe(*op));
  if (!missing.empty()) {
    std::string list;
    for (const auto& m : missing) list += (list.empty() ? "" : ", ") + m;
    return Status::error(str("no gradient rule for ", missing.size() == 1 ? "op " : "ops ", list));
  }
  if (before) {
    std::unordered_set<const Op*> on_path(path.ops.begin(), path.ops.end());
    bool past = false;
    for (const auto& op : region->ops()) {
      past = past || op.get() == before;
      if (past && on_path.count(op.get()))
        return Status::error(str(describe(*op), " computes part of '", y->name(), "' after ", describe(*before),
                                 ", which needs its gradient"));
    }
  }

  Accumulator acc;
  {
    Emitter e(*region, before, "gradient");
    Value* s = seed ? seed : e.onesLike(y);
    if (!e.ok()) return e.status();
    acc.add(y, s);
  }
  for (auto it = path.ops.rbegin(); it != path.ops.rend(); ++it) {
    Op* op = *it;
    Emitter sum(*region, before, op->location() + ".grad");
    std::vector<Value*> dresults;
    bool any = false;
    for (int i = 0; i < op->numResults(); ++i) {
      dresults.push_back(acc.take(op->result(i), sum));
      any = any || dresults.back();
    }
    if (!sum.ok()) return sum.status();
    if (!any) continue;
    std::vector<bool> needed;
    for (int i = 0; i < op->numOperands(); ++i) needed.push_back(op->operand(i) && path.depends.count(op->operand(i)));
    GradContext ctx(*op, dresults, needed, *region, before);
    table()[static_cast<size_t>(op->kind())].rule(ctx);
    if (!ctx.ok()) return ctx.status();
    for (int i = 0; i < op->numOperands(); ++i) {
      if (!needed[static_cast<size_t>(i)]) continue;
      Value* g = ctx.dx[static_cast<size_t>(i)];
      Value* x = op->operand(i);
      if (!g)
        return Status::error(str(describe(*op), ": no gradient with respect to input ", i, " ('", x->name(), "')"));
      if (g->type().dtype != x->type().dtype || !compatibleShapes(g->type().shape, x->type().shape))
        return Status::error(str(describe(*op), ": internal error: the gradient of input ", i, " has type ",
                                 g->type().toString(), ", the input ", x->type().toString()));
      acc.add(x, g);
    }
  }

  std::vector<Value*> out;
  Emitter e(*region, before, "gradient");
  for (Value* x : xs) {
    Value* g = acc.take(x, e);
    out.push_back(g ? g : e.zerosLike(x));
  }
  if (!e.ok()) return e.status();
  return out;
}

}  // namespace dlc::autodiff
