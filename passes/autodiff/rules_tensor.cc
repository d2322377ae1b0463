// Gradient rules of the data-movement ops: each gradient is the adjoint movement (reshape back,
// inverse transpose, split for concat, pad for slice, scatter-add for gather).
#include <algorithm>

#include "passes/autodiff/rules.h"
#include "passes/simplify_util.h"

namespace dlc::autodiff {
namespace {

std::vector<int64_t> staticShape(GradContext& c, Value* v, const char* what) {
  std::vector<int64_t> s;
  int r = c.rankOf(v);
  for (int i = 0; i < r; ++i) s.push_back(c.staticDim(v, i, what));
  return s;
}

std::vector<int64_t> constInts(GradContext& c, Value* v, const char* what) {
  if (!v) return {};
  auto ints = passes::constantInts(v);
  if (!ints) {
    c.fail(str(what, " must be a constant to differentiate ", c.node().name()));
    return {};
  }
  return *ints;
}

Value* zerosOfShape(GradContext& c, DType dt, const std::vector<int64_t>& shape) {
  int64_t n = 1;
  for (int64_t d : shape) n *= d;
  if (n <= 4096) return c.constant(Tensor(dt, shape));
  return c.op(OpKind::ConstantOfShape, {c.ints(shape)}, {{"value", Attribute::ofTensor(Tensor(dt, {1}))}});
}

// Indices with negative entries counted from the end of a dim of size n.
Value* wrapIndices(GradContext& c, Value* idx, int64_t n) {
  Value* i64 = c.cast(idx, DType::I64);
  return c.where(c.op(OpKind::Less, {i64, c.int64(0)}), c.add(i64, c.int64(n)), i64);
}

}  // namespace

// Reshape, Flatten, Squeeze, Unsqueeze keep the elements in order: dx = dy reshaped to x.
void gradReshapeLike(GradContext& c) { c.dx[0] = c.reshapeLike(c.dy(), c.x(0)); }

// y = transpose(x, p): dx = transpose(dy, p⁻¹)
void gradTranspose(GradContext& c) {
  int r = c.rankOf(c.x(0));
  if (r < 0) return;
  std::vector<int64_t> perm = c.node().getInts("perm");
  if (perm.empty())
    for (int i = r - 1; i >= 0; --i) perm.push_back(i);
  std::vector<int64_t> inv(perm.size());
  for (size_t i = 0; i < perm.size(); ++i) inv[static_cast<size_t>(perm[i])] = static_cast<int64_t>(i);
  c.dx[0] = c.transpose(c.dy(), inv);
}

// y = concat(x₁..xₙ) along axis: dxᵢ = the slice of dy that xᵢ filled (one Split).
void gradConcat(GradContext& c) {
  int n = c.node().numOperands();
  int r = c.rankOf(c.y());
  std::vector<int64_t> axis{c.node().getInt("axis", 0)};
  if (r < 0 || !normalizeAxes(axis, r)) return c.fail("axis out of range");
  std::vector<int64_t> sizes;
  for (int i = 0; i < n; ++i) sizes.push_back(c.staticDim(c.x(i), static_cast<int>(axis[0]), "the gradient of Concat"));
  if (!c.ok()) return;
  if (n == 1) {
    c.dx[0] = c.dy();
    return;
  }
  std::vector<Value*> parts = c.ops(OpKind::Split, {c.dy(), c.ints(sizes)}, {{"axis", Attribute::ofInt(axis[0])}}, n);
  for (int i = 0; i < n; ++i) c.dx[static_cast<size_t>(i)] = parts[static_cast<size_t>(i)];
}

// y₁..yₙ = split(x) along axis: dx = concat(dy₁..dyₙ), zeros for the parts nothing used.
void gradSplit(GradContext& c) {
  std::vector<Value*> parts;
  for (int i = 0; i < c.node().numResults(); ++i) parts.push_back(c.dyOrZeros(i));
  c.dx[0] = c.op(OpKind::Concat, parts, {{"axis", Attribute::ofInt(c.node().getInt("axis", 0))}});
}

// y = expand(x, shape): dx = dy summed over the broadcast axes
void gradExpand(GradContext& c) { c.dx[0] = c.sumToShape(c.dy(), c.x(0)); }

// y = tile(x, r): y[.., k·dᵢ + j, ..] = x[.., j, ..], so dx = Σ over the tiles: dy reshaped to
// [r₀, d₀, r₁, d₁, ...] and summed over the r axes.
void gradTile(GradContext& c) {
  std::vector<int64_t> shape = staticShape(c, c.x(0), "the gradient of Tile");
  std::vector<int64_t> reps = constInts(c, c.x(1), "Tile's repeats");
  if (!c.ok()) return;
  std::vector<int64_t> split, axes;
  for (size_t i = 0; i < shape.size(); ++i) {
    split.push_back(reps[i]);
    split.push_back(shape[i]);
    axes.push_back(static_cast<int64_t>(2 * i));
  }
  c.dx[0] = c.reduceSum(c.reshape(c.dy(), split), axes, false);
}

// y = pad(x, begin b, end e) with a constant: dx[i] = dy[i + b] where that lies inside y, else 0
// (negative pads crop x, and the cropped elements get zeros).
void gradPad(GradContext& c) {
  if (c.node().getString("mode", "constant") != "constant")
    return c.fail(str("no gradient for Pad mode '", c.node().getString("mode", "constant"), "' (only constant)"));
  std::vector<int64_t> shape = staticShape(c, c.x(0), "the gradient of Pad");
  std::vector<int64_t> pads = constInts(c, c.x(1), "Pad's pads");
  if (!c.ok()) return;
  size_t r = shape.size();
  if (pads.size() != 2 * r) return c.fail("pads must list a begin and an end per axis");
  std::vector<int64_t> starts, ends, axes, repad(2 * r, 0);
  bool crop = false;
  for (size_t i = 0; i < r; ++i) {
    int64_t b = pads[i], e = pads[i + r], d = shape[i];
    int64_t lo = std::max<int64_t>(0, -b), hi = std::min(d, d + e);
    starts.push_back(lo + b);
    ends.push_back(hi + b);
    axes.push_back(static_cast<int64_t>(i));
    repad[i] = lo;
    repad[i + r] = d - hi;
    crop = crop || lo > 0 || hi < d;
  }
  Value* g = c.op(OpKind::Slice, {c.dy(), c.ints(starts), c.ints(ends), c.ints(axes)});
  if (crop) g = c.op(OpKind::Pad, {g, c.ints(repad)});
  c.dx[0] = g;
  if (c.needs(2)) c.fail("Pad's constant value gets no gradient");
}

// y = x[starts:ends:steps] on constant bounds. Unit steps: dx = dy padded back to x's shape.
// Other steps: dy scattered to the flat positions it was read from (computed here, constant).
void gradSlice(GradContext& c) {
  Value* x = c.x(0);
  std::vector<int64_t> shape = staticShape(c, x, "the gradient of Slice");
  std::vector<int64_t> starts = constInts(c, c.x(1), "Slice's starts"), ends = constInts(c, c.x(2), "Slice's ends");
  std::vector<int64_t> axes = constInts(c, c.x(3), "Slice's axes"), steps = constInts(c, c.x(4), "Slice's steps");
  if (!c.ok()) return;
  const int r = static_cast<int>(shape.size());
  if (axes.empty())
    for (size_t i = 0; i < starts.size(); ++i) axes.push_back(static_cast<int64_t>(i));
  if (steps.empty()) steps.assign(starts.size(), 1);
  // Per axis: the first index read, the step and the count (ONNX's clamping rules).
  std::vector<int64_t> first(static_cast<size_t>(r), 0), step(static_cast<size_t>(r), 1), count(shape);
  for (size_t i = 0; i < axes.size(); ++i) {
    int64_t a = axes[i] < 0 ? axes[i] + r : axes[i];
    if (a < 0 || a >= r || steps[i] == 0) return c.fail("invalid Slice axes or steps");
    int64_t d = shape[static_cast<size_t>(a)], s = steps[i];
    int64_t b = starts[i] < 0 ? starts[i] + d : starts[i], e = ends[i] < 0 ? ends[i] + d : ends[i];
    if (s > 0) {
      b = std::clamp<int64_t>(b, 0, d);
      e = std::clamp<int64_t>(e, 0, d);
    } else {
      b = std::clamp<int64_t>(b, 0, d - 1);
      e = std::clamp<int64_t>(e, -1, d - 1);
    }
    int64_t n = s > 0 ? (e > b ? (e - b + s - 1) / s : 0) : (b > e ? (b - e - s - 1) / -s : 0);
    first[static_cast<size_t>(a)] = b;
    step[static_cast<size_t>(a)] = s;
    count[static_cast<size_t>(a)] = n;
  }
  bool unit = true;
  for (int i = 0; i < r; ++i) unit = unit && step[static_cast<size_t>(i)] == 1;
  if (unit) {
    std::vector<int64_t> pads(2 * static_cast<size_t>(r));
    for (int i = 0; i < r; ++i) {
      size_t u = static_cast<size_t>(i);
      pads[u] = first[u];
      pads[u + static_cast<size_t>(r)] = shape[u] - first[u] - count[u];
    }
    c.dx[0] = c.op(OpKind::Pad, {c.dy(), c.ints(pads)});
    return;
  }
  int64_t total = 1, read = 1;
  for (int i = 0; i < r; ++i) {
    total *= shape[static_cast<size_t>(i)];
    read *= count[static_cast<size_t>(i)];
  }
  std::vector<int64_t> flat;
  flat.reserve(static_cast<size_t>(read));
  std::vector<int64_t> idx(static_cast<size_t>(r), 0);
  for (int64_t k = 0; k < read; ++k) {
    int64_t off = 0;
    for (int i = 0; i < r; ++i) {
      size_t u = static_cast<size_t>(i);
      off = off * shape[u] + first[u] + idx[u] * step[u];
    }
    flat.push_back(off);
    for (int i = r - 1; i >= 0; --i) {
      size_t u = static_cast<size_t>(i);
      if (++idx[u] < count[u]) break;
      idx[u] = 0;
    }
  }
  Value* zeros = zerosOfShape(c, x->type().dtype, {total});
  Value* scattered = c.op(OpKind::ScatterElements, {zeros, c.ints(flat), c.reshape(c.dy(), {read})});
  c.dx[0] = c.reshape(scattered, shape);
}

// y = gather(data, idx, axis): every gathered row's gradient is added back where it came from, so
// repeated indices (embedding lookups) accumulate: ScatterND with reduction add, the gathered axis
// moved to the front and back.
void gradGather(GradContext& c) {
  Value *data = c.x(0), *idx = c.x(1), *dy = c.dy();
  std::vector<int64_t> shape = staticShape(c, data, "the gradient of Gather");
  int q = c.rankOf(idx);
  if (!c.ok()) return;
  const int r = static_cast<int>(shape.size());
  int64_t axis = c.node().getInt("axis", 0);
  if (axis < 0) axis += r;
  // data order with the axis first: [axis, 0..axis-1, axis+1..]; dy order with the index dims first.
  std::vector<int64_t> data_perm{axis}, dy_perm, moved_shape{shape[static_cast<size_t>(axis)]};
  for (int64_t i = 0; i < r; ++i)
    if (i != axis) {
      data_perm.push_back(i);
      moved_shape.push_back(shape[static_cast<size_t>(i)]);
    }
  for (int64_t i = axis; i < axis + q; ++i) dy_perm.push_back(i);
  for (int64_t i = 0; i < axis; ++i) dy_perm.push_back(i);
  for (int64_t i = axis + q; i < r - 1 + q; ++i) dy_perm.push_back(i);
  Value* rows = c.unsqueeze(wrapIndices(c, idx, shape[static_cast<size_t>(axis)]), {q});
  Value* g = c.op(OpKind::ScatterND, {zerosOfShape(c, data->type().dtype, moved_shape), rows, c.transpose(dy, dy_perm)},
                  {{"reduction", Attribute::ofString("add")}});
  std::vector<int64_t> inv(static_cast<size_t>(r));
  for (int i = 0; i < r; ++i) inv[static_cast<size_t>(data_perm[static_cast<size_t>(i)])] = i;
  c.dx[0] = c.transpose(g, inv);
}

// y = gather_elements(data, idx, axis): dx = scatter_elements(zeros, idx, dy, axis, add)
void gradGatherElements(GradContext& c) {
  Value* data = c.x(0);
  int r = c.rankOf(data);
  int64_t axis = c.node().getInt("axis", 0);
  if (axis < 0) axis += r;
  int64_t n = c.staticDim(data, static_cast<int>(axis), "the gradient of GatherElements");
  std::vector<int64_t> shape = staticShape(c, data, "the gradient of GatherElements");
  if (!c.ok()) return;
  c.dx[0] = c.op(OpKind::ScatterElements, {zerosOfShape(c, data->type().dtype, shape), wrapIndices(c, c.x(1), n), c.dy()},
                 {{"axis", Attribute::ofInt(axis)}, {"reduction", Attribute::ofString("add")}});
}


// y = scatter_elements(data, idx, upd, axis, reduction):
//   add:  y = data + Σ upd at idx     → d data = dy,                      d upd = gather_elements(dy, idx)
//   none: y = data with upd put at idx → d data = dy zeroed where written, d upd = gather_elements(dy, idx)
// (for "none" exact when idx has no duplicates, the case ONNX defines). mul/max/min have no rule.
void gradScatterElements(GradContext& c) {
  const std::string reduction = c.node().getString("reduction", "none");
  if (reduction != "add" && reduction != "none") {
    c.fail(str("no gradient for ScatterElements reduction '", reduction, "' (add and none have one)"));
    return;
  }
  Value* data = c.x(0);
  int64_t axis = c.node().getInt("axis", 0);
  if (axis < 0) axis += c.rankOf(data);
  int64_t n = c.staticDim(data, static_cast<int>(axis), "the gradient of ScatterElements");
  if (!c.ok()) return;
  Value* idx = wrapIndices(c, c.x(1), n);
  if (c.needs(0))
    c.dx[0] = reduction == "add" ? c.dy()
                                 : c.op(OpKind::ScatterElements, {c.dy(), idx, c.zerosLike(c.x(2))},
                                        {{"axis", Attribute::ofInt(axis)}});
  if (c.needs(2)) c.dx[2] = c.op(OpKind::GatherElements, {c.dy(), idx}, {{"axis", Attribute::ofInt(axis)}});
}

}  // namespace dlc::autodiff
