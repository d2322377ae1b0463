// Runs regions op by op: binds arguments, looks values up through enclosing scopes, frees each
// intermediate after its last use, and checks graph inputs against the signature.
#include "backends/reference/interpreter.h"

#include <exception>
#include <map>
#include <set>
#include <unordered_map>

#include "backends/reference/kernel.h"

namespace dlc::ref {
namespace {

// Values visible while running one region: its own, then those of the enclosing regions.
struct Scope {
  const Scope* parent = nullptr;
  std::unordered_map<const Value*, RtValue> values;

  const RtValue* find(const Value* v) const {
    for (const Scope* s = this; s; s = s->parent) {
      auto it = s->values.find(v);
      if (it != s->values.end()) return &it->second;
    }
    return nullptr;
  }
};

// Runs one kernel. Kernels report bad input as a Status; a throw that still escapes one (e.g.
// Tensor::getDouble on a string tensor a kernel forgot to reject, bad_alloc for a huge shape)
// becomes an error naming the op, so no model can end the process or reach a caller as an exception.
Status invokeKernel(Kernel k, KernelContext& ctx) {
  try {
    return k(ctx);
  } catch (const std::exception& e) {
    return ctx.error(str("kernel failed: ", e.what()));
  }
}

// The op of `region` that contains `user` (itself, or an ancestor op when `user` is nested deeper).
const Op* topLevelUser(const Region& region, const Op* user) {
  const Op* op = user;
  while (op && op->parent() != &region) op = op->parent()->parentOp();
  return op;
}

// For each op of `region`, the values of the region whose last use it is (so they can be freed).
std::unordered_map<const Op*, std::vector<const Value*>> lastUses(const Region& region) {
  std::unordered_map<const Op*, size_t> position;
  size_t i = 0;
  for (const auto& op : region.ops()) position[op.get()] = i++;
  std::set<const Value*> outputs(region.outputs().begin(), region.outputs().end());
  std::unordered_map<const Op*, std::vector<const Value*>> result;
  auto consider = [&](const Value* v) {
    if (outputs.count(v)) return;
    const Op* last = nullptr;
    for (const Use& u : v->uses()) {
      if (!u.user) continue;  // an output use of some nested region: handled via its op
      const Op* top = topLevelUser(region, u.user);
      if (top && (!last || position[top] > position[last])) last = top;
    }
    if (last) result[last].push_back(v);
  };
  for (int a = 0; a < region.numArguments(); ++a) consider(region.argument(a));
  for (const auto& op : region.ops())
    for (int r = 0; r < op->numResults(); ++r) consider(op->result(r));
  return result;
}

Expected<std::vector<RtValue>> runRegion(const Region& region, std::vector<RtValue> args, const Scope* parent,
                                         OpObserver* observer, int depth) {
  const KernelTable& kernels = kernelTable();
  if (static_cast<int>(args.size()) != region.numArguments())
    return Status::error(str("region expects ", region.numArguments(), " arguments, got ", args.size()));
  Scope scope;
  scope.parent = parent;
  for (int i = 0; i < region.numArguments(); ++i) scope.values[region.argument(i)] = std::move(args[static_cast<size_t>(i)]);
  auto frees = lastUses(region);

  RegionRunner runner = [&scope, observer, depth](const Region& r, std::vector<RtValue> a) {
    return runRegion(r, std::move(a), &scope, observer, depth + 1);
  };
  for (const auto& op_ptr : region.ops()) {
    const Op& op = *op_ptr;
    Kernel k = kernels[static_cast<size_t>(op.kind())];
    if (!k) return Status::error(str(op.name(), " '", op.location(), "': not supported by the reference backend"));
    std::vector<const RtValue*> inputs;
    for (Value* v : op.operands()) {
      if (!v) {
        inputs.push_back(nullptr);
        continue;
      }
      const RtValue* rv = scope.find(v);
      if (!rv) return Status::error(str(op.name(), " '", op.location(), "': operand '", v->name(), "' has no value"));
      inputs.push_back(rv);
    }
    KernelContext ctx(op, std::move(inputs), runner);
    if (observer) {
      auto start = std::chrono::steady_clock::now();
      Status s = invokeKernel(k, ctx);
      observer->onOp(OpEvent{op, depth, start, std::chrono::steady_clock::now() - start});
      DLC_RETURN_IF_ERROR(s);
    } else {
      DLC_RETURN_IF_ERROR(invokeKernel(k, ctx));
    }
    for (int r = 0; r < op.numResults(); ++r) scope.values[op.result(r)] = std::move(ctx.outputs()[static_cast<size_t>(r)]);
    auto f = frees.find(&op);
    if (f != frees.end())
      for (const Value* v : f->second) scope.values.erase(v);
  }
  std::vector<RtValue> outs;
  for (Value* v : region.outputs()) {
    const RtValue* rv = v ? scope.find(v) : nullptr;
    if (!rv) return Status::error(str("region output '", v ? v->name() : std::string("?"), "' has no value"));
    outs.push_back(*rv);
  }
  return outs;
}

// Checks one graph input against its declared type; binds symbolic dims to sizes.
Status checkInput(const Value& arg, const RtValue& v, std::map<std::string, int64_t>& symbols) {
  const Type& t = arg.type();
  if (t.isOptional() && v.is_none) return Status::success();
  const Type& want = t.isOptional() ? *t.element : t;
  if (want.isSequence()) {
    if (!v.is_sequence) return Status::error(str("input '", arg.name(), "' must be a sequence"));
    return Status::success();
  }
  if (v.is_sequence || v.is_none) return Status::error(str("input '", arg.name(), "' must be a tensor"));
  if (v.tensor.dtype() != want.dtype)
    return Status::error(str("input '", arg.name(), "' has dtype ", dtypeName(v.tensor.dtype()), ", expected ",
                             dtypeName(want.dtype)));
  if (!want.shape.ranked) return Status::success();
  const auto& got = v.tensor.shape();
  std::vector<int64_t> got_shape(got.begin(), got.end());
  if (static_cast<int>(got.size()) != want.shape.rank())
    return Status::error(str("input '", arg.name(), "' has shape ", Shape::of(got_shape).toString(), ", expected ",
                             want.shape.toString()));
  for (int i = 0; i < want.shape.rank(); ++i) {
    const Dim& d = want.shape.dims[static_cast<size_t>(i)];
    int64_t size = got[static_cast<size_t>(i)];
    bool bad = d.isStatic() && d.value != size;
    if (d.isSymbolic()) {
      auto [it, inserted] = symbols.emplace(d.symbol, size);
      bad = !inserted && it->second != size;
    }
    if (bad)
      return Status::error(str("input '", arg.name(), "' has shape ", Shape::of(got_shape).toString(), ", expected ",
                               want.shape.toString()));
  }
  return Status::success();
}

}  // namespace

std::vector<OpKind> unsupportedOps(const Graph& graph) {
  const KernelTable& kernels = kernelTable();
  std::vector<OpKind> missing;
  walkOps(graph.body(), [&](const Op* op) {
    if (!kernels[static_cast<size_t>(op->kind())] &&
        std::find(missing.begin(), missing.end(), op->kind()) == missing.end())
      missing.push_back(op->kind());
  });
  return missing;
}

Expected<std::vector<Tensor>> evaluateOp(const Op& op, const std::vector<const Tensor*>& inputs) {
  Kernel k = kernelTable()[static_cast<size_t>(op.kind())];
  if (!k) return Status::error(str(op.name(), " '", op.location(), "': not supported by the reference backend"));
  if (!op.regions().empty()) return Status::error(str(op.name(), " '", op.location(), "': ops with regions cannot be evaluated alone"));
  std::vector<RtValue> values;
  values.reserve(inputs.size());
  for (const Tensor* t : inputs) values.push_back(t ? RtValue::ofTensor(*t) : RtValue::none());
  std::vector<const RtValue*> ptrs;
  for (size_t i = 0; i < inputs.size(); ++i) ptrs.push_back(inputs[i] ? &values[i] : nullptr);
  RegionRunner no_regions = [](const Region&, std::vector<RtValue>) -> Expected<std::vector<RtValue>> {
    return Status::error("no regions here");
  };
  KernelContext ctx(op, std::move(ptrs), no_regions);
  DLC_RETURN_IF_ERROR(invokeKernel(k, ctx));
  std::vector<Tensor> out;
  for (auto& v : ctx.outputs()) {
    if (v.is_sequence || v.is_none) return Status::error(str(op.name(), ": result is not a tensor"));
    out.push_back(std::move(v.tensor));
  }
  return out;
}

Expected<std::vector<RtValue>> Interpreter::run(const std::vector<RtValue>& inputs) const {
  const Region& body = graph_.body();
  if (static_cast<int>(inputs.size()) != body.numArguments())
    return Status::error(str("the model takes ", body.numArguments(), " inputs, got ", inputs.size()));
  std::map<std::string, int64_t> symbols;
  for (int i = 0; i < body.numArguments(); ++i)
    DLC_RETURN_IF_ERROR(checkInput(*body.argument(i), inputs[static_cast<size_t>(i)], symbols));
  return runRegion(body, inputs, nullptr, observer_, 0);
}

}  // namespace dlc::ref
