// Shape reasoning for channel pruning (channel_shapes.h).
#include "passes/prune/channel_shapes.h"

#include <algorithm>
#include <numeric>

#include "passes/pattern.h"

namespace dlc::prune {

using passes::constantValue;

Dims typeDims(const Value* v) {
  if (!v || !v->type().isTensor() || !v->type().shape.ranked) return {};
  Dims d;
  for (const Dim& dim : v->type().shape.dims) d.push_back(dim.isStatic() ? dim.value : -1);
  return d;
}

std::optional<std::vector<int64_t>> constantAxes(const Op& op, int rank) {
  std::vector<int64_t> axes;
  const bool reduce = op.kind() != OpKind::Squeeze && op.kind() != OpKind::Unsqueeze;
  if (op.hasAttr("axes")) {
    axes = op.getInts("axes");
  } else if (op.numOperands() > 1 && op.operand(1)) {
    const Tensor* t = constantValue(op.operand(1));
    if (!t) return std::nullopt;
    for (int64_t i = 0; i < t->numel(); ++i) axes.push_back(t->getInt(i));
  } else if (reduce && op.getInt("noop_with_empty_axes", 0) == 0) {
    axes.resize(static_cast<size_t>(rank));
    std::iota(axes.begin(), axes.end(), 0);
  } else {
    return std::nullopt;  // Squeeze without axes: whichever dims are 1
  }
  for (int64_t& a : axes) a = a < 0 ? a + rank : a;
  return axes;
}

std::optional<std::vector<SliceAxis>> sliceAxes(const Op& op, int rank) {
  auto ints = [&](int i) -> std::optional<std::vector<int64_t>> {
    const Tensor* t = op.numOperands() > i && op.operand(i) ? constantValue(op.operand(i)) : nullptr;
    if (!t) return std::nullopt;
    std::vector<int64_t> v;
    for (int64_t k = 0; k < t->numel(); ++k) v.push_back(t->getInt(k));
    return v;
  };
  std::optional<std::vector<int64_t>> starts = ints(1), ends = ints(2), axes, steps;
  if (!starts || !ends || starts->size() != ends->size()) return std::nullopt;
  if (op.numOperands() > 3 && op.operand(3)) {
    if (!(axes = ints(3)) || axes->size() != starts->size()) return std::nullopt;
  } else {
    axes = std::vector<int64_t>(starts->size());
    std::iota(axes->begin(), axes->end(), 0);
  }
  if (op.numOperands() > 4 && op.operand(4)) {
    if (!(steps = ints(4)) || steps->size() != starts->size()) return std::nullopt;
  } else {
    steps = std::vector<int64_t>(starts->size(), 1);
  }
  std::vector<SliceAxis> out;
  for (size_t k = 0; k < starts->size(); ++k) {
    const int64_t axis = (*axes)[k] < 0 ? (*axes)[k] + rank : (*axes)[k];
    if (axis < 0 || axis >= rank) return std::nullopt;
    out.push_back({static_cast<int>(axis), (*starts)[k], (*ends)[k], (*steps)[k]});
  }
  return out;
}

std::pair<int64_t, int64_t> sliceRange(int64_t start, int64_t end, int64_t size) {
  auto clamp = [&](int64_t v) { return std::clamp<int64_t>(v < 0 ? v + size : v, 0, size); };
  const int64_t first = clamp(start), last = clamp(end);
  return {first, std::max(first, last)};
}

namespace {

constexpr int64_t kNotConstant = -2;

// A one-element shape piece whose value is a static dim though not a constant:
// Unsqueeze(Gather(Shape(v), k)) or Gather(Shape(v), [k]), as torch writes x.shape[k].
std::optional<int64_t> staticShapePiece(const Value* piece) {
  const Op* def = piece ? piece->definingOp() : nullptr;
  if (def && def->kind() == OpKind::Unsqueeze) def = def->operand(0)->definingOp();
  if (!def || def->kind() != OpKind::Gather || def->getInt("axis", 0) != 0) return std::nullopt;
  const Op* shape = def->operand(0)->definingOp();
  const Tensor* index = constantValue(def->operand(1));
  if (!shape || shape->kind() != OpKind::Shape || shape->hasAttr("start") || shape->hasAttr("end") || !index || index->numel() != 1)
    return std::nullopt;
  const Dims d = typeDims(shape->operand(0));
  int64_t k = index->getInt(0);
  if (k < 0) k += static_cast<int64_t>(d.size());
  if (k < 0 || k >= static_cast<int64_t>(d.size()) || d[static_cast<size_t>(k)] < 0) return std::nullopt;
  return d[static_cast<size_t>(k)];
}

// The shape operand's elements as far as they are constants (kNotConstant where not).
Dims shapeOperand(const Value* shape) {
  if (const Tensor* t = constantValue(shape)) {
    Dims d;
    for (int64_t i = 0; i < t->numel(); ++i) d.push_back(t->getInt(i));
    return d;
  }
  const Op* def = shape ? shape->definingOp() : nullptr;
  if (!def || def->kind() != OpKind::Concat) return {};
  Dims d;
  for (int i = 0; i < def->numOperands(); ++i) {
    const Value* piece = def->operand(i);
    if (const Tensor* t = constantValue(piece)) {
      for (int64_t k = 0; k < t->numel(); ++k) d.push_back(t->getInt(k));
      continue;
    }
    Dims pd = typeDims(piece);
    if (pd.size() != 1 || pd[0] < 0) return {};
    std::optional<int64_t> known = pd[0] == 1 ? staticShapePiece(piece) : std::nullopt;
    if (known) d.push_back(*known);
    else d.insert(d.end(), static_cast<size_t>(pd[0]), kNotConstant);
  }
  return d;
}

}  // namespace

Dims shapeOperandDims(const Value* shape) {
  Dims d = shapeOperand(shape);
  for (int64_t& x : d) x = x < 0 ? -1 : x;
  return d;
}

Dims reshapeDims(const Op& reshape, const Dims& in) {
  Dims out = typeDims(reshape.result());
  Dims shape = shapeOperand(reshape.operand(1));
  if (out.empty()) out.assign(shape.size(), -1);
  if (shape.size() != out.size()) return out;
  const bool copy_zero = reshape.getInt("allowzero", 0) == 0;
  for (size_t i = 0; i < out.size(); ++i) {
    if (out[i] >= 0) continue;
    if (shape[i] > 0) out[i] = shape[i];
    else if (shape[i] == 0 && copy_zero && i < in.size()) out[i] = in[i];
  }
  // A -1: the input's element count over the other dims', where dims copied by a 0 cancel even
  // when unknown (Reshape(x, [0, -1]) of [N, C, H, W] is [N, C·H·W]).
  size_t infer = out.size();
  for (size_t i = 0; i < out.size(); ++i)
    if (shape[i] == -1 && out[i] < 0) infer = i;
  if (infer == out.size()) return out;
  int64_t num = 1, den = 1;
  for (size_t i = 0; i < in.size(); ++i) {
    const bool copied = i < shape.size() && shape[i] == 0 && copy_zero;
    if (copied) continue;
    if (in[i] < 0) return out;
    num *= in[i];
  }
  for (size_t i = 0; i < out.size(); ++i) {
    if (i == infer || (shape[i] == 0 && copy_zero)) continue;
    if (out[i] < 0) return out;
    den *= out[i];
  }
  if (den > 0 && num % den == 0) out[infer] = num / den;
  return out;
}

std::optional<ReshapeCarry> reshapeCarry(const Dims& in, const Dims& out, int axis, int64_t channels, int64_t block, int64_t repeat) {
  // Segments of equal product from the end; the one holding `axis` must be fully known.
  int i = static_cast<int>(in.size()) - 1, j = static_cast<int>(out.size()) - 1;
  while (i >= 0 && j >= 0) {
    const int i_end = i, j_end = j;
    if (in[i] < 0 || out[j] < 0) return std::nullopt;
    int64_t pi = in[i], pj = out[j];
    while (pi != pj) {
      if (pi < pj) {
        if (--i < 0 || in[i] < 0) return std::nullopt;
        pi *= in[i];
      } else {
        if (--j < 0 || out[j] < 0) return std::nullopt;
        pj *= out[j];
      }
    }
    if (axis >= i && axis <= i_end) {
      ReshapeCarry c;
      if (j == j_end) {  // merged into one axis (or kept as it is)
        c.axis = j;
        c.block = block * std::accumulate(in.begin() + axis + 1, in.begin() + i_end + 1, int64_t{1}, std::multiplies<>());
        c.repeat = repeat * std::accumulate(in.begin() + i, in.begin() + axis, int64_t{1}, std::multiplies<>());
        return c;
      }
      if (i != i_end) return std::nullopt;  // several axes into several: not followed
      // Split: which output axis holds whole channel blocks.
      const int k = (j == 1 && out.size() == 4 && j_end == 3) ? j : j_end - 1;
      const int64_t after = std::accumulate(out.begin() + k + 1, out.begin() + j_end + 1, int64_t{1}, std::multiplies<>());
      const int64_t before = std::accumulate(out.begin() + j, out.begin() + k, int64_t{1}, std::multiplies<>());
      if (after % block != 0 || before % repeat != 0) return std::nullopt;
      c.unit = after / block;
      c.outer = before / repeat;
      if (channels % (c.unit * c.outer) != 0 || channels / (c.unit * c.outer) != out[k]) return std::nullopt;
      c.axis = k;
      return c;
    }
    --i, --j;
  }
  return std::nullopt;
}

std::optional<ShapeElement> shapeElement(const Op& reshape, int64_t index) {
  const Value* shape = reshape.operand(1);
  if (const Tensor* t = constantValue(shape)) {
    if (index >= t->numel()) return std::nullopt;
    return ShapeElement{&reshape, 1, index, t->getInt(index)};
  }
  const Op* def = shape ? shape->definingOp() : nullptr;
  if (!def || def->kind() != OpKind::Concat) return std::nullopt;
  int64_t at = 0;
  for (int i = 0; i < def->numOperands(); ++i) {
    const Value* piece = def->operand(i);
    const Tensor* t = constantValue(piece);
    const int64_t n = t ? t->numel() : (typeDims(piece).size() == 1 ? typeDims(piece)[0] : -1);
    if (n < 0) return std::nullopt;
    if (index < at + n) {
      if (t) return ShapeElement{def, i, index - at, t->getInt(index - at)};
      std::optional<int64_t> known = n == 1 ? staticShapePiece(piece) : std::nullopt;
      if (!known) return std::nullopt;
      return ShapeElement{def, i, 0, *known};  // the surgery puts a constant in its place
    }
    at += n;
  }
  return std::nullopt;
}

}  // namespace dlc::prune
