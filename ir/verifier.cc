// The IR verifier: SSA dominance and back-pointers, op signatures, and result types re-inferred
// (without mutating the graph) and compared with the recorded ones.
#include "ir/verifier.h"

#include <unordered_set>
#include <vector>

#include "ir/builder.h"
#include "ir/infer/infer.h"
#include "ir/text_syntax.h"

namespace dlc {
namespace {

std::string where(const Op& op) { return str(op.name(), " '", op.location(), "'"); }

std::string valueName(const Value* v) {
  if (v->name().empty()) return "an unnamed value";
  return "%" + (text::isBareIdentifier(v->name()) ? v->name() : text::quoteString(v->name()));
}

// Recorded and inferred types agree unless they disagree on something both know: the kind, the
// dtype, the rank (when both are ranked) or a dim that both give statically.
bool compatible(const Type& recorded, const Type& inferred) {
  if (recorded.kind != inferred.kind) return false;
  if (!recorded.isTensor()) {
    if (!recorded.element || !inferred.element) return true;
    return compatible(*recorded.element, *inferred.element);
  }
  if (recorded.dtype != inferred.dtype) return false;
  if (!recorded.shape.ranked || !inferred.shape.ranked) return true;
  if (recorded.shape.rank() != inferred.shape.rank()) return false;
  for (int i = 0; i < recorded.shape.rank(); ++i) {
    const Dim& a = recorded.shape.dims[static_cast<size_t>(i)];
    const Dim& b = inferred.shape.dims[static_cast<size_t>(i)];
    if (a.isStatic() && b.isStatic() && a.value != b.value) return false;
  }
  return true;
}

bool hasUse(const Value* v, const Op* user, const Region* region, int index) {
  for (const Use& u : v->uses())
    if (u.user == user && u.region == region && u.index == index) return true;
  return false;
}

class Verifier {
 public:
  Status region(const Region& r, const Op* parent) {
    if (r.parentOp() != parent)
      return Status::error(parent ? str("verifier: ", where(*parent), ": a region's parent pointer is wrong")
                                  : "verifier: the graph body has a parent op");
    std::vector<const Value*> defined;  // removed from `visible_` when leaving this region
    auto define = [&](const Value* v) {
      visible_.insert(v);
      defined.push_back(v);
    };
    Status s = regionBody(r, parent, define);
    for (const Value* v : defined) visible_.erase(v);
    return s;
  }

 private:
  template <typename Define>
  Status regionBody(const Region& r, const Op* parent, Define& define) {
    std::string in = parent ? str(" in a region of ", where(*parent)) : std::string(" of the graph");
    for (int i = 0; i < r.numArguments(); ++i) {
      const Value* a = r.argument(i);
      if (!a || a->argumentOf() != &r || a->index() != i || a->definingOp())
        return Status::error(str("verifier: argument ", i, in, " has inconsistent back-pointers"));
      define(a);
    }
    for (const auto& owned : r.ops()) {
      const Op& op = *owned;
      DLC_RETURN_IF_ERROR(verifyOp(op, r));
      for (int i = 0; i < op.numResults(); ++i) define(op.result(i));
    }
    for (int i = 0; i < r.numOutputs(); ++i) {
      const Value* v = r.output(i);
      if (!v) return Status::error(str("verifier: output ", i, in, " is null"));
      if (!visible_.count(v))
        return Status::error(str("verifier: output ", i, in, " (", valueName(v),
                                 ") is not defined in this region or an enclosing one"));
      if (!hasUse(v, nullptr, &r, i))
        return Status::error(str("verifier: output ", i, in, " (", valueName(v), ") is missing its use record"));
    }
    return Status::success();
  }

  Status verifyOp(const Op& op, const Region& r) {
    auto fail = [&](const std::string& what) { return Status::error(str("verifier: ", where(op), ": ", what)); };
    if (op.parent() != &r) return fail("parent pointer is wrong");
    for (int i = 0; i < op.numOperands(); ++i) {
      const Value* v = op.operand(i);
      if (!v) continue;  // absent optional input
      if (!visible_.count(v))
        return fail(str("operand ", i, " (", valueName(v), ") is used before its definition or outside its scope"));
      if (!hasUse(v, &op, nullptr, i)) return fail(str("operand ", i, " (", valueName(v), ") has no use record"));
    }
    for (int i = 0; i < op.numResults(); ++i) {
      const Value* v = op.result(i);
      if (v->definingOp() != &op || v->index() != i || v->argumentOf())
        return fail(str("result ", i, " has inconsistent back-pointers"));
    }
    Status sig = checkOpSignature(op);
    if (!sig.ok()) return Status::error("verifier: " + sig.message());
    // Nested regions first: the op's own rule may read their output types.
    for (const auto& [name, a] : op.attrs()) {
      if (a.type == AttrType::Graph && !a.g) return fail(str("region attribute '", name, "' is null"));
      if (a.g) DLC_RETURN_IF_ERROR(region(*a.g, &op));
      for (const auto& g : a.graphs) {
        if (!g) return fail(str("region list attribute '", name, "' holds a null region"));
        DLC_RETURN_IF_ERROR(region(*g, &op));
      }
    }
    return checkTypes(op);
  }

  Status checkTypes(const Op& op) {
    std::vector<Type> inferred;
    for (int i = 0; i < op.numResults(); ++i) inferred.push_back(op.result(i)->type());
    // The sink keeps inference from writing into the graph; rules only read through the op.
    Status s = inferOpTypes(const_cast<Op&>(op), &inferred);
    if (!s.ok()) {
      std::string prefix = where(op) + ": ";
      if (s.message().compare(0, prefix.size(), prefix) == 0) return Status::error("verifier: " + s.message());
      return Status::error(str("verifier: ", prefix, "shape inference failed: ", s.message()));
    }
    for (int i = 0; i < op.numResults(); ++i) {
      const Type& recorded = op.result(i)->type();
      if (!compatible(recorded, inferred[static_cast<size_t>(i)]))
        return Status::error(str("verifier: ", where(op), ": result ", i, " has type ", recorded.toString(),
                                 " but inference gives ", inferred[static_cast<size_t>(i)].toString()));
    }
    return Status::success();
  }

  std::unordered_set<const Value*> visible_;
};

}  // namespace

Status verifyGraph(const Graph& graph) {
  Status s = Verifier().region(graph.body(), nullptr);
  if (s.ok()) return s;
  // Messages quote names and attribute strings from the model: kept to one line whatever they hold.
  std::string message = s.message();
  for (char& c : message)
    if (static_cast<unsigned char>(c) < 0x20) c = c == '\n' ? ' ' : '?';
  return Status::error(message);
}

}  // namespace dlc
