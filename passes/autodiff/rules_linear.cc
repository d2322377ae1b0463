// Gradient rules of the linear ops: MatMul and Gemm through matrix products of the incoming
// gradient, Conv and ConvTranspose through each other (one is the other's adjoint) and
// ConvGradWeight for the weights.
#include "passes/autodiff/rules.h"

namespace dlc::autodiff {
namespace {

// Swaps the last two axes of a tensor of rank r.
std::vector<int64_t> swapLastTwo(int r) {
  std::vector<int64_t> p;
  for (int i = 0; i < r; ++i) p.push_back(i);
  std::swap(p[static_cast<size_t>(r - 2)], p[static_cast<size_t>(r - 1)]);
  return p;
}

Attribute ints(std::vector<int64_t> v) { return Attribute::ofInts(std::move(v)); }

// The explicit geometry of a Conv-like op over input spatial sizes `in` (which must be static):
// per spatial dim its kernel, stride, dilation and begin/end pads, with auto_pad resolved as the
// reference kernels do.
struct ConvGeometry {
  std::vector<int64_t> in, kernel, strides, dilations, pads_begin, pads_end;
  std::vector<int64_t> pads() const {
    std::vector<int64_t> p = pads_begin;
    p.insert(p.end(), pads_end.begin(), pads_end.end());
    return p;
  }
  int64_t extent(size_t i) const { return (kernel[i] - 1) * dilations[i] + 1; }
};

bool convGeometry(GradContext& c, Value* x, Value* w, ConvGeometry* g) {
  int r = c.rankOf(x);
  if (r < 3 || c.rankOf(w) != r) {
    c.fail("X must be [N,C,spatial...] and W of the same rank");
    return false;
  }
  const Op& op = c.node();
  size_t n = static_cast<size_t>(r - 2);
  for (int i = 2; i < r; ++i) {
    g->in.push_back(c.staticDim(x, i, "the gradient of a convolution"));
    g->kernel.push_back(c.staticDim(w, i, "the gradient of a convolution"));
  }
  if (!c.ok()) return false;
  auto get = [&](const char* name, int64_t dflt, size_t count) {
    std::vector<int64_t> v = op.getInts(name);
    if (v.empty()) v.assign(count, dflt);
    return v;
  };
  g->strides = get("strides", 1, n);
  g->dilations = get("dilations", 1, n);
  std::vector<int64_t> pads = get("pads", 0, 2 * n);
  if (g->strides.size() != n || g->dilations.size() != n || pads.size() != 2 * n) {
    c.fail("strides, dilations and pads must match the spatial rank");
    return false;
  }
  std::string auto_pad = op.getString("auto_pad", "NOTSET");
  for (size_t i = 0; i < n; ++i) {
    if (auto_pad == "SAME_UPPER" || auto_pad == "SAME_LOWER") {
      int64_t out = (g->in[i] + g->strides[i] - 1) / g->strides[i];
      int64_t total = std::max<int64_t>(0, (out - 1) * g->strides[i] + g->extent(i) - g->in[i]);
      g->pads_begin.push_back(auto_pad == "SAME_UPPER" ? total / 2 : total - total / 2);
      g->pads_end.push_back(total - g->pads_begin.back());
    } else if (auto_pad == "VALID") {
      g->pads_begin.push_back(0);
      g->pads_end.push_back(0);
    } else {
      g->pads_begin.push_back(pads[i]);
      g->pads_end.push_back(pads[i + n]);
    }
  }
  return true;
}

// dB of a bias added per channel (axis 1): Σ dY over every other axis.
Value* channelSum(GradContext& c, Value* dy) {
  int r = c.rankOf(dy);
  std::vector<int64_t> axes{0};
  for (int i = 2; i < r; ++i) axes.push_back(i);
  return c.reduceSum(dy, axes, /*keepdims=*/false);
}

}  // namespace

// Y = A·B (batched, broadcast batch dims; a 1-D operand is a row/column vector):
// dA = dY·Bᵀ, dB = Aᵀ·dY, each summed over the batch dims it was broadcast along.
void gradMatMul(GradContext& c) {
  Value *a = c.x(0), *b = c.x(1), *dy = c.dy();
  int ra = c.rankOf(a), rb = c.rankOf(b);
  if (ra < 0 || rb < 0) return;
  if (ra == 1 && rb == 1) {  // a dot product: a scalar dY scales the other vector
    if (c.needs(0)) c.dx[0] = c.mul(dy, b);
    if (c.needs(1)) c.dx[1] = c.mul(dy, a);
    return;
  }
  if (ra == 2 && rb == 2) {  // plain matrices: one GEMM each, transposes folded in
    if (c.needs(0)) c.dx[0] = c.op(OpKind::Gemm, {dy, b}, {{"transB", Attribute::ofInt(1)}});
    if (c.needs(1)) c.dx[1] = c.op(OpKind::Gemm, {a, dy}, {{"transA", Attribute::ofInt(1)}});
    return;
  }
  // A weight matrix B [K, N] under a batch of rows A [..., K]: dB is one GEMM over all rows.
  if (rb == 2 && ra > 2 && c.needs(1) && a->type().shape.dims.back().isStatic() &&
      dy->type().shape.dims.back().isStatic()) {
    int64_t k = a->type().shape.dims.back().value, n = dy->type().shape.dims.back().value;
    Value* a2 = c.reshape(a, {-1, k});
    Value* dy2 = c.reshape(dy, {-1, n});
    c.dx[1] = c.op(OpKind::Gemm, {a2, dy2}, {{"transA", Attribute::ofInt(1)}});
    if (c.needs(0)) c.dx[0] = c.op(OpKind::MatMul, {dy, c.transpose(b, {1, 0})});
    return;
  }
  Value* a2 = ra == 1 ? c.unsqueeze(a, {0}) : a;  // [1, K]
  Value* b2 = rb == 1 ? c.unsqueeze(b, {1}) : b;  // [K, 1]
  int rdy = c.rankOf(dy);
  Value* dy2 = dy;
  if (ra == 1) dy2 = c.unsqueeze(dy2, {rdy - 1});  // [..., 1, N]
  if (rb == 1) dy2 = c.unsqueeze(dy2, {c.rankOf(dy2)});  // [..., M, 1]
  if (!c.ok()) return;
  if (c.needs(0)) {
    Value* da = c.op(OpKind::MatMul, {dy2, c.transpose(b2, swapLastTwo(c.rankOf(b2)))});
    c.dx[0] = c.reshapeLike(c.sumToShape(da, a2), a);
  }
  if (c.needs(1)) {
    Value* db = c.op(OpKind::MatMul, {c.transpose(a2, swapLastTwo(c.rankOf(a2))), dy2});
    c.dx[1] = c.reshapeLike(c.sumToShape(db, b2), b);
  }
}

// Y = α·op(A)·op(B) + β·C. With op(A) = A: dA = α·dY·op(B)ᵀ, else dA = α·op(B)·dYᵀ; with op(B) = B:
// dB = α·op(A)ᵀ·dY, else dB = α·dYᵀ·op(A); dC = β·dY summed to C's shape.
void gradGemm(GradContext& c) {
  Op& op = c.node();
  const double alpha = op.getFloat("alpha", 1.0f), beta = op.getFloat("beta", 1.0f);
  const bool ta = op.getInt("transA", 0) != 0, tb = op.getInt("transB", 0) != 0;
  Value *a = c.x(0), *b = c.x(1), *dy = c.dy();
  auto gemm = [&](Value* p, Value* q, bool tp, bool tq) {
    std::map<std::string, Attribute> attrs{{"transA", Attribute::ofInt(tp)}, {"transB", Attribute::ofInt(tq)}};
    if (alpha != 1.0) attrs["alpha"] = Attribute::ofFloat(static_cast<float>(alpha));
    return c.op(OpKind::Gemm, {p, q}, attrs);
  };
  if (c.needs(0)) c.dx[0] = ta ? gemm(b, dy, tb, true) : gemm(dy, b, false, !tb);
  if (c.needs(1)) c.dx[1] = tb ? gemm(dy, a, true, ta) : gemm(a, dy, !ta, false);
  if (c.needs(2)) {
    Value* g = c.sumToShape(dy, c.x(2));
    c.dx[2] = beta == 1.0 ? g : c.mulScalar(g, beta);
  }
}

// Y = Conv(X, W) + B. dX is ConvTranspose(dY, W) with the same geometry, its output padding
// restoring the rows the forward stride skipped; dW = ConvGradWeight(X, dY); dB = Σ dY per channel
// (ConvGradWeight's second result when dW is needed too).
void gradConv(GradContext& c) {
  Op& op = c.node();
  ConvGeometry g;
  if (!convGeometry(c, c.x(0), c.x(1), &g)) return;
  Value* dy = c.dy();
  const int64_t group = op.getInt("group", 1);
  if (c.needs(0)) {
    std::vector<int64_t> out_pad;
    for (size_t i = 0; i < g.in.size(); ++i) {
      int64_t out = c.staticDim(dy, static_cast<int>(i) + 2, "the gradient of a convolution");
      out_pad.push_back(g.in[i] - ((out - 1) * g.strides[i] + g.extent(i) - g.pads_begin[i] - g.pads_end[i]));
    }
    c.dx[0] = c.op(OpKind::ConvTranspose, {dy, c.x(1)},
                   {{"strides", ints(g.strides)}, {"dilations", ints(g.dilations)}, {"pads", ints(g.pads())},
                    {"group", Attribute::ofInt(group)}, {"output_padding", ints(out_pad)}});
  }
  // The weight gradient op also sums dY per channel when the bias needs it (one pass over dY).
  std::map<std::string, Attribute> attrs{{"strides", ints(g.strides)}, {"dilations", ints(g.dilations)}, {"pads", ints(g.pads())},
                                         {"group", Attribute::ofInt(group)}, {"kernel_shape", ints(g.kernel)}};
  if (c.needs(1)) {
    std::vector<Value*> r = c.ops(OpKind::ConvGradWeight, {c.x(0), dy}, attrs, c.needs(2) ? 2 : 1);
    c.dx[1] = r[0];
    if (c.needs(2)) c.dx[2] = r[1];
  } else if (c.needs(2)) {
    c.dx[2] = channelSum(c, dy);
  }
}

// Y = ConvTranspose(X, W) + B, W [C, M/G, k...]. ConvTranspose is the adjoint of Conv(·, W) with the
// same strides, dilations and begin pads, so dX = Conv(dY, W) and dW = ConvGradWeight(dY, X) (X in the
// role of the convolution's output); the end pads drop the output padding rows. dB = Σ dY per channel.
void gradConvTranspose(GradContext& c) {
  Op& op = c.node();
  Value *x = c.x(0), *w = c.x(1), *dy = c.dy();
  int r = c.rankOf(x);
  if (r < 3 || c.rankOf(w) != r) {
    c.fail("X must be [N,C,spatial...] and W of the same rank");
    return;
  }
  size_t n = static_cast<size_t>(r - 2);
  auto get = [&](const char* name, int64_t dflt, size_t count) {
    std::vector<int64_t> v = op.getInts(name);
    if (v.empty()) v.assign(count, dflt);
    return v;
  };
  std::vector<int64_t> strides = get("strides", 1, n), dil = get("dilations", 1, n), pads = get("pads", 0, 2 * n),
                       opad = get("output_padding", 0, n), oshape = op.getInts("output_shape");
  if (oshape.size() == n + 2) oshape.erase(oshape.begin(), oshape.begin() + 2);
  std::string auto_pad = op.getString("auto_pad", "NOTSET");
  std::vector<int64_t> pb, pe, kernel;
  for (size_t i = 0; i < n; ++i) {
    int64_t in = c.staticDim(x, static_cast<int>(i) + 2, "the gradient of a transposed convolution");
    int64_t k = c.staticDim(w, static_cast<int>(i) + 2, "the gradient of a transposed convolution");
    int64_t out = c.staticDim(dy, static_cast<int>(i) + 2, "the gradient of a transposed convolution");
    if (!c.ok()) return;
    kernel.push_back(k);
    int64_t full = strides[i] * (in - 1) + opad[i] + (k - 1) * dil[i] + 1;
    int64_t b = 0, e = 0;
    if (!oshape.empty() || auto_pad == "SAME_UPPER" || auto_pad == "SAME_LOWER") {
      int64_t total = std::max<int64_t>(0, full - out);
      b = auto_pad == "SAME_UPPER" ? total / 2 : total - total / 2;
      e = total - b;
    } else if (auto_pad != "VALID") {
      b = pads[i];
      e = pads[i + n];
    }
    pb.push_back(b);
    // The convolution over dY must see exactly `in` windows: drop the output-padding rows.
    pe.push_back(std::max<int64_t>(0, e - opad[i]));
  }
  std::vector<int64_t> conv_pads = pb;
  conv_pads.insert(conv_pads.end(), pe.begin(), pe.end());
  std::map<std::string, Attribute> geom{{"strides", ints(strides)}, {"dilations", ints(dil)}, {"pads", ints(conv_pads)},
                                        {"group", Attribute::ofInt(op.getInt("group", 1))}};
  if (c.needs(0)) c.dx[0] = c.op(OpKind::Conv, {dy, w}, geom);
  if (c.needs(1)) {
    geom["kernel_shape"] = ints(kernel);
    c.dx[1] = c.op(OpKind::ConvGradWeight, {dy, x}, geom);
  }
  if (c.needs(2)) c.dx[2] = channelSum(c, dy);
}

}  // namespace dlc::autodiff
