// The sticky-error IR emitter shared by the gradient rules, decompositions and lowerings.
#include "passes/emitter.h"

#include <algorithm>

#include "ir/dtype_onnx.h"

namespace dlc::passes {

Emitter::Emitter(Region& region, Op* before, std::string location) : builder_(region), location_(std::move(location)) {
  builder_.setInsertionPoint(before);
}

std::vector<Value*> Emitter::ops(OpKind kind, std::vector<Value*> operands, std::map<std::string, Attribute> attrs,
                                 int num_results) {
  if (!ok()) return std::vector<Value*>(static_cast<size_t>(num_results), nullptr);
  auto created = builder_.create(kind, std::move(operands), std::move(attrs), num_results, location_);
  if (!created.ok()) {
    fail(created.status());
    return std::vector<Value*>(static_cast<size_t>(num_results), nullptr);
  }
  std::vector<Value*> results;
  for (int i = 0; i < num_results; ++i) results.push_back((*created)->result(i));
  return results;
}

Value* Emitter::op(OpKind kind, std::vector<Value*> operands, std::map<std::string, Attribute> attrs) {
  for (Value* v : operands)
    if (!v) {
      if (ok()) fail(str("internal error: a null operand for ", opName(kind)));
      return nullptr;
    }
  return ops(kind, std::move(operands), std::move(attrs), 1)[0];
}

Value* Emitter::opOptional(OpKind kind, std::vector<Value*> operands, std::map<std::string, Attribute> attrs) {
  return ops(kind, std::move(operands), std::move(attrs), 1)[0];
}

Value* Emitter::constant(Tensor t) {
  if (!ok()) return nullptr;
  return builder_.constant(std::move(t));
}

Value* Emitter::scalar(DType dtype, double v) { return constant(Tensor::scalar(dtype, v)); }

Value* Emitter::scalarLike(Value* like, double v) {
  if (!like) return nullptr;
  return scalar(like->type().dtype, v);
}

Value* Emitter::ints(const std::vector<int64_t>& v) {
  return constant(Tensor::fromVector(DType::I64, {static_cast<int64_t>(v.size())}, v));
}

Value* Emitter::int64(int64_t v) { return scalar(DType::I64, static_cast<double>(v)); }

Value* Emitter::cast(Value* v, DType to) {
  if (!v) return nullptr;
  if (v->type().dtype == to) return v;
  return op(OpKind::Cast, {v}, {{"to", Attribute::ofInt(static_cast<int64_t>(dtypeToOnnxCode(to)))}});
}

int Emitter::rankOf(Value* v) {
  if (!v) return -1;
  if (!v->type().isTensor() || !v->type().shape.ranked) {
    fail(str("value '", v->name(), "' has no known rank (", v->type().toString(), ")"));
    return -1;
  }
  return v->type().shape.rank();
}

int64_t Emitter::staticDim(Value* v, int i, const char* what) {
  int r = rankOf(v);
  if (r < 0) return -1;
  if (i < 0 || i >= r || !v->type().shape.dims[static_cast<size_t>(i)].isStatic()) {
    fail(str(what, " needs a static size (value '", v->name(), "' is ", v->type().toString(),
             "; give --input-shape to fix symbolic dims)"));
    return -1;
  }
  return v->type().shape.dims[static_cast<size_t>(i)].value;
}

Value* Emitter::shapeOf(Value* v) {
  if (!v) return nullptr;
  const Shape& s = v->type().shape;
  if (v->type().isTensor() && s.isStatic()) return ints(s.staticSizes());
  return op(OpKind::Shape, {v});
}

Value* Emitter::reshape(Value* v, const std::vector<int64_t>& shape) {
  if (!v) return nullptr;
  return op(OpKind::Reshape, {v, ints(shape)});
}

Value* Emitter::reshapeLike(Value* v, Value* like) {
  if (!v || !like) return nullptr;
  if (v->type().shape == like->type().shape && v->type().shape.isStatic()) return v;
  if (v->type().shape == like->type().shape && v->type().shape.ranked) {
    bool known = true;
    for (const Dim& d : v->type().shape.dims) known = known && (d.isStatic() || d.isSymbolic());
    if (known) return v;
  }
  return op(OpKind::Reshape, {v, shapeOf(like)});
}

Value* Emitter::expandLike(Value* v, Value* like) {
  if (!v || !like) return nullptr;
  if (v->type().shape == like->type().shape && v->type().shape.isStatic()) return v;
  return op(OpKind::Expand, {v, shapeOf(like)});
}

Value* Emitter::transpose(Value* v, const std::vector<int64_t>& perm) {
  bool identity = true;
  for (size_t i = 0; i < perm.size(); ++i) identity = identity && perm[i] == static_cast<int64_t>(i);
  if (identity) return v;
  return op(OpKind::Transpose, {v}, {{"perm", Attribute::ofInts(perm)}});
}

Value* Emitter::unsqueeze(Value* v, const std::vector<int64_t>& axes) {
  if (axes.empty()) return v;
  return op(OpKind::Unsqueeze, {v, ints(axes)});
}

Value* Emitter::squeeze(Value* v, const std::vector<int64_t>& axes) {
  if (axes.empty()) return v;
  return op(OpKind::Squeeze, {v, ints(axes)});
}

Value* Emitter::reduceSum(Value* v, const std::vector<int64_t>& axes, bool keepdims) {
  if (axes.empty()) return v;
  return op(OpKind::ReduceSum, {v, ints(axes)}, {{"keepdims", Attribute::ofInt(keepdims ? 1 : 0)}});
}

Value* Emitter::reduceMean(Value* v, const std::vector<int64_t>& axes, bool keepdims) {
  if (axes.empty()) return v;
  return op(OpKind::ReduceMean, {v}, {{"axes", Attribute::ofInts(axes)}, {"keepdims", Attribute::ofInt(keepdims ? 1 : 0)}});
}

// d(broadcast(x))/dx sums over the broadcast axes: the leading axes x lacks and the axes where x
// has size 1 and the gradient does not. A symbolic or unknown dim of x is taken to match.
Value* Emitter::sumToShape(Value* g, Value* like) {
  if (!g || !like) return nullptr;
  int rg = rankOf(g), rl = rankOf(like);
  if (rg < 0 || rl < 0) return nullptr;
  if (rl > rg) {
    fail(str("a gradient of rank ", rg, " cannot be summed to rank ", rl));
    return nullptr;
  }
  std::vector<int64_t> axes;
  for (int i = 0; i < rg; ++i) {
    int j = i - (rg - rl);
    if (j < 0) {
      axes.push_back(i);
      continue;
    }
    const Dim& dl = like->type().shape.dims[static_cast<size_t>(j)];
    const Dim& dg = g->type().shape.dims[static_cast<size_t>(i)];
    if (dl.isStatic() && dl.value == 1 && !(dg.isStatic() && dg.value == 1)) axes.push_back(i);
  }
  Value* s = reduceSum(g, axes, /*keepdims=*/true);
  return reshapeLike(s, like);
}

Value* Emitter::zerosLike(Value* v) {
  if (!v) return nullptr;
  const Type& t = v->type();
  if (t.isTensor() && t.shape.isStatic() && t.shape.numElements() <= 4096) {
    Tensor z(t.dtype, t.shape.staticSizes());
    return constant(z);
  }
  Tensor fill(t.dtype, {1});
  return op(OpKind::ConstantOfShape, {shapeOf(v)}, {{"value", Attribute::ofTensor(fill)}});
}

Value* Emitter::onesLike(Value* v) {
  if (!v) return nullptr;
  return expandLike(scalarLike(v, 1.0), v);
}

Value* Emitter::countOf(Value* v, const std::vector<int64_t>& axes, Value* like) {
  int64_t n = 1;
  for (int64_t a : axes) {
    int64_t d = staticDim(v, static_cast<int>(a), "the element count of a reduction");
    if (d < 0) return nullptr;
    n *= d;
  }
  return scalarLike(like, static_cast<double>(n));
}

bool normalizeAxes(std::vector<int64_t>& axes, int rank) {
  for (int64_t& a : axes) {
    if (a < -rank || a >= rank) return false;
    if (a < 0) a += rank;
  }
  std::sort(axes.begin(), axes.end());
  axes.erase(std::unique(axes.begin(), axes.end()), axes.end());
  return true;
}

}  // namespace dlc::passes
