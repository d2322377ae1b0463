// Shape re-inference: specialize-shapes, constant-fold and the oneDNN library's per-shape segments.
#include "ir/reinfer.h"

#include <exception>

#include "ir/infer/infer.h"

namespace dlc {
namespace {

// Inference's type, completed by what the (specialized) recorded type knew and inference does
// not: types recorded at import may carry the model's own declarations, still valid here.
Type refine(Type inferred, const Type& recorded) {
  if (inferred.kind != recorded.kind) return inferred;
  if (!inferred.isTensor()) {
    if (inferred.element && recorded.element)
      inferred.element = std::make_shared<const Type>(refine(*inferred.element, *recorded.element));
    return inferred;
  }
  if (inferred.dtype != recorded.dtype || !recorded.shape.ranked) return inferred;
  if (!inferred.shape.ranked) {
    inferred.shape = recorded.shape;
    return inferred;
  }
  if (inferred.shape.rank() != recorded.shape.rank()) return inferred;
  for (size_t i = 0; i < inferred.shape.dims.size(); ++i) {
    Dim& d = inferred.shape.dims[i];
    const Dim& r = recorded.shape.dims[i];
    if (!d.isStatic() && (r.isStatic() || (!d.isSymbolic() && r.isSymbolic()))) d = r;
  }
  return inferred;
}

}  // namespace

Expected<bool> reinferTypes(Region& region, const SymbolSizes& b, const KnownValues* known) {
  bool changed = false;
  for (const auto& op : region.ops()) {
    for (Region* sub : op->regions()) {
      for (int i = 0; i < sub->numArguments(); ++i)
        sub->argument(i)->setType(substituteSymbols(sub->argument(i)->type(), b));
      DLC_ASSIGN_OR_RETURN(bool sub_changed, reinferTypes(*sub, b, known));
      changed |= sub_changed;
    }
    std::vector<Type> before, recorded;
    for (int i = 0; i < op->numResults(); ++i) {
      before.push_back(op->result(i)->type());
      recorded.push_back(substituteSymbols(op->result(i)->type(), b));
    }
    Status s;
    try {
      s = inferOpTypes(*op, nullptr, known);
    } catch (const std::exception& e) {
      s = Status::error(str(op->name(), " '", op->location(), "': shape inference failed: ", e.what()));
    }
    DLC_RETURN_IF_ERROR(s);
    for (int i = 0; i < op->numResults(); ++i) {
      op->result(i)->setType(refine(op->result(i)->type(), recorded[static_cast<size_t>(i)]));
      changed |= op->result(i)->type() != before[static_cast<size_t>(i)];
    }
  }
  return changed;
}

}  // namespace dlc
