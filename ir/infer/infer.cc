// The inference driver and the shared shape rules (same-as-input, elementwise, broadcasting).
#include "ir/infer/infer.h"

#include <exception>

#include "ir/tensor.h"

namespace dlc {

const Type* InferContext::inputType(int i) const {
  Value* v = op_.operand(i);
  return v ? &v->type() : nullptr;
}

const Tensor* InferContext::constantInput(int i) const {
  Value* v = op_.operand(i);
  if (v && known_)
    if (auto it = known_->find(v); it != known_->end()) return &it->second;
  if (!v || !v->definingOp() || v->definingOp()->kind() != OpKind::Constant) return nullptr;
  const Attribute* a = v->definingOp()->attr("value");
  return a && a->type == AttrType::Tensor ? &a->t : nullptr;
}

void InferContext::setOutput(int i, Type t) {
  if (sink_) {
    if (i >= 0 && i < static_cast<int>(sink_->size())) (*sink_)[static_cast<size_t>(i)] = std::move(t);
    return;
  }
  if (i < op_.numResults()) op_.result(i)->setType(std::move(t));
}

Status InferContext::error(const std::string& message) const {
  return Status::error(str(op_.name(), " '", op_.location(), "': ", message));
}

Status broadcastShapes(const std::vector<Shape>& shapes, Shape* out) {
  int rank = 0;
  for (const auto& s : shapes) {
    if (!s.ranked) {
      *out = Shape::unranked();
      return Status::success();
    }
    rank = std::max(rank, s.rank());
  }
  Shape result;
  result.dims.assign(static_cast<size_t>(rank), Dim::of(1));
  for (const auto& s : shapes) {
    int offset = rank - s.rank();
    for (int i = 0; i < s.rank(); ++i) {
      Dim& r = result.dims[static_cast<size_t>(offset + i)];
      const Dim& d = s.dims[static_cast<size_t>(i)];
      if (d.isStatic() && d.value == 1) continue;
      if (r.isStatic() && r.value == 1) {
        r = d;
      } else if (r == d) {
        continue;
      } else if (r.isStatic() && d.isStatic()) {
        return Status::error(str("shapes ", s.toString(), " cannot broadcast: dim ", i, " is ", d.value,
                                 " where another input has ", r.value));
      } else if (!r.isStatic() && d.isStatic()) {
        r = d;  // a symbolic dim broadcast against a static one (>1) must equal it
      } else if (!r.isStatic() && !d.isStatic()) {
        r = Dim::unknown();  // two different symbols: only known at run time
      }
    }
  }
  *out = std::move(result);
  return Status::success();
}

Status normalizeAxis(int64_t axis, int rank, int* out) {
  if (axis < -rank || axis >= std::max(rank, 1) + (rank == 0 ? -1 : 0))
    if (!(rank == 0 && axis == 0))
      return Status::error(str("axis ", axis, " is out of range for rank ", rank));
  *out = static_cast<int>(axis < 0 ? axis + rank : axis);
  return Status::success();
}

Status inferOpTypes(Op& op) { return inferOpTypes(op, static_cast<std::vector<Type>*>(nullptr)); }

Status inferOpTypes(Op& op, std::vector<Type>* sink) { return inferOpTypes(op, sink, nullptr); }

Status inferOpTypes(Op& op, std::vector<Type>* sink, const KnownValues* known) {
  InferContext ctx(op, sink, known);
  const OpInfo& info = op.info();
  const Type* in0 = ctx.inputType(0);
  switch (info.shape_rule) {
    case ShapeRule::SameAsInput:
      if (!in0) return ctx.error("missing input 0");
      ctx.setOutput(0, *in0);
      return Status::success();
    case ShapeRule::ElementwiseBool:
      if (!in0) return ctx.error("missing input 0");
      ctx.setOutput(0, Type::tensor(DType::Bool, in0->shape));
      return Status::success();
    case ShapeRule::Broadcast:
    case ShapeRule::BroadcastBool: {
      std::vector<Shape> shapes;
      for (int i = 0; i < op.numOperands(); ++i) {
        const Type* t = ctx.inputType(i);
        if (!t || !t->isTensor()) return ctx.error(str("input ", i, " must be a tensor"));
        shapes.push_back(t->shape);
      }
      if (shapes.empty()) return ctx.error("needs at least one input");
      Shape out;
      Status s = broadcastShapes(shapes, &out);
      if (!s.ok()) return ctx.error(s.message());
      DType dt = info.shape_rule == ShapeRule::BroadcastBool ? DType::Bool : in0->dtype;
      ctx.setOutput(0, Type::tensor(dt, std::move(out)));
      return Status::success();
    }
    case ShapeRule::Custom:
      // A rule that reads a constant operand of the wrong dtype (a string tensor as Resize scales)
      // can meet Tensor's logic_error; it becomes an error naming the op, as for any bad model.
      try {
        return info.infer(ctx);
      } catch (const std::exception& e) {
        return ctx.error(str("inference failed: ", e.what()));
      }
  }
  return Status::success();
}

Status inferRegionTypes(Region& region) {
  for (const auto& op : region.ops()) {
    for (Region* sub : op->regions()) DLC_RETURN_IF_ERROR(inferRegionTypes(*sub));
    DLC_RETURN_IF_ERROR(inferOpTypes(*op));
  }
  return Status::success();
}

}  // namespace dlc
