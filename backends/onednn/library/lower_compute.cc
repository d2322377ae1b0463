// Lowering of the compute-heavy ops: convolution (grouped, depthwise, dilated; fused bias,
// residual sum and activation as post-ops; f32 and bf16), deconvolution, matrix multiply
// (batched, transposed, fused epilogue), attention (two batched matmuls around a softmax), and the
// int8 convolution and matmul of ONNX's QLinear ops (per-channel weight scales), and the
// convolution's weight gradient for training.
#include <cmath>

#include "backends/onednn/library/program.h"

namespace dlc::onednn {

using dnnl::memory;
using Kind = TensorSlot::Kind;

namespace {

// Per spatial axis: begin and end padding, from `pads` or auto_pad and the shapes.
Status convPadding(const Op& op, const memory::dims& in, const memory::dims& out, const memory::dims& kernel,
                   const memory::dims& strides, const memory::dims& dilations, memory::dims& pad_l, memory::dims& pad_r) {
  size_t n = kernel.size();
  std::string auto_pad = op.getString("auto_pad", "NOTSET");
  std::vector<int64_t> pads = op.getInts("pads");
  pad_l.assign(n, 0);
  pad_r.assign(n, 0);
  for (size_t i = 0; i < n; ++i) {
    int64_t span = (kernel[i] - 1) * dilations[i] + 1;
    int64_t total = std::max<int64_t>(0, (out[i + 2] - 1) * strides[i] + span - in[i + 2]);
    if (auto_pad == "NOTSET") {
      if (!pads.empty() && pads.size() != 2 * n) return Status::error(str(where(op), ": pads has ", pads.size(), " values"));
      pad_l[i] = pads.empty() ? 0 : pads[i];
      pad_r[i] = pads.empty() ? 0 : pads[i + n];
    } else if (auto_pad == "SAME_UPPER" || auto_pad == "SAME_LOWER") {
      pad_l[i] = auto_pad == "SAME_UPPER" ? total / 2 : total - total / 2;
      pad_r[i] = total - pad_l[i];
    } else if (auto_pad != "VALID") {
      return Status::error(str(where(op), ": auto_pad ", auto_pad));
    }
  }
  return Status::success();
}

memory::dims intsOr(const Op& op, const char* name, size_t n, int64_t fallback) {
  std::vector<int64_t> v = op.getInts(name);
  if (v.empty()) v.assign(n, fallback);
  return memory::dims(v.begin(), v.end());
}

// A convolution's geometry in oneDNN's terms: the kernel, strides, dilations as gaps (d - 1),
// paddings, and the weights' dims with a leading group axis when grouped.
struct ConvGeometry {
  memory::dims kernel, strides, dilations, pad_l, pad_r, weights;
  int64_t group = 1;
};

Expected<ConvGeometry> convGeometry(const Op& op, const memory::dims& x, const memory::dims& w, const memory::dims& y) {
  if (x.size() < 3 || x.size() > 5 || w.size() != x.size()) return Status::error(str(where(op), ": rank ", x.size()));
  size_t spatial = x.size() - 2;
  ConvGeometry g;
  g.kernel.assign(w.begin() + 2, w.end());
  g.strides = intsOr(op, "strides", spatial, 1);
  memory::dims dilations = intsOr(op, "dilations", spatial, 1);
  DLC_RETURN_IF_ERROR(convPadding(op, x, y, g.kernel, g.strides, dilations, g.pad_l, g.pad_r));
  g.dilations = dilations;
  for (auto& d : g.dilations) d -= 1;  // oneDNN counts the gaps
  g.group = op.getInt("group", 1);
  g.weights = w;
  if (g.group > 1) {
    g.weights = {g.group, w[0] / g.group};
    g.weights.insert(g.weights.end(), w.begin() + 1, w.end());
  }
  return g;
}

// The arguments of a weighted primitive: its source and weights operands in the layouts it chose
// (weights seen through `w_view` first, e.g. with a group axis; constants repacked at load), the
// bias operand when present, and `dst`.
Expected<std::vector<std::pair<int, int>>> weightedArgs(Builder& b, const Op& op, const memory::desc& src_md,
                                                        const memory::desc& weights_md, int x_operand, int w_operand,
                                                        const memory::desc& w_view, int bias_operand, int dst) {
  DLC_ASSIGN_OR_RETURN(int xs, b.tensorOf(op.operand(x_operand)));
  DLC_ASSIGN_OR_RETURN(int ws, b.tensorOf(op.operand(w_operand)));
  DLC_ASSIGN_OR_RETURN(int src, b.ensure(xs, src_md));
  DLC_ASSIGN_OR_RETURN(int weights, b.ensure(w_view == b.md(ws) ? ws : b.view(ws, w_view), weights_md));
  std::vector<std::pair<int, int>> args{{DNNL_ARG_SRC, src}, {DNNL_ARG_WEIGHTS, weights}, {DNNL_ARG_DST, dst}};
  if (bias_operand >= 0 && op.numOperands() > bias_operand && op.operand(bias_operand)) {
    DLC_ASSIGN_OR_RETURN(int bias, b.tensorOf(op.operand(bias_operand)));
    DLC_ASSIGN_OR_RETURN(int bias_plain, b.ensurePlain(bias));
    args.push_back({DNNL_ARG_BIAS, bias_plain});
  }
  return args;
}

Status lowerConv(Builder& b, const Op& op) {
  const Type& xt = op.operand(0)->type();
  const Type& wt = op.operand(1)->type();
  const Type& yt = op.result()->type();
  if ((xt.dtype != DType::F32 && xt.dtype != DType::BF16) || wt.dtype != xt.dtype)
    return Status::error(str(where(op), ": oneDNN convolution here is f32 or bf16"));
  const memory::data_type dt = *dnnlType(xt.dtype);
  memory::dims x = dimsOf(xt), w = dimsOf(wt), y = dimsOf(yt);
  DLC_ASSIGN_OR_RETURN(ConvGeometry g, convGeometry(op, x, w, y));
  auto any = [dt](const memory::dims& d) { return memory::desc(d, dt, memory::format_tag::any); };
  bool has_bias = op.operand(2) != nullptr, has_residual = op.operand(3) != nullptr;
  memory::desc bias_md = has_bias ? plainDesc({y[1]}, *dnnlType(op.operand(2)->type().dtype)) : memory::desc();
  dnnl::convolution_forward::desc desc(dnnl::prop_kind::forward_inference, dnnl::algorithm::convolution_direct, any(x),
                                       any(g.weights), bias_md, any(y), g.strides, g.dilations, g.pad_l, g.pad_r);
  dnnl::primitive_attr attr = Builder::baseAttr();
  dnnl::post_ops post;
  if (has_residual) post.append_sum(1.0f);
  if (op.kind() == OpKind::FusedConv) DLC_RETURN_IF_ERROR(appendActivation(post, op));
  attr.set_post_ops(post);
  dnnl::convolution_forward::primitive_desc pd(desc, attr, cpuEngine());

  int dst = -1;
  if (has_residual) {
    // The sum post-op adds what dst holds. When this op is the residual's only reader and the
    // residual is an intermediate in dst's layout, the result overwrites it in place; otherwise
    // the residual is first copied into dst.
    DLC_ASSIGN_OR_RETURN(int r, b.tensorOf(op.operand(3)));
    if (op.operand(3)->uses().size() == 1 && b.ownsInternalStorage(r) && b.md(r) == pd.dst_desc()) {
      dst = b.view(r, pd.dst_desc());
    } else {
      dst = b.internal(pd.dst_desc());
      DLC_RETURN_IF_ERROR(b.copy(r, dst, op));
    }
  } else {
    dst = b.internal(pd.dst_desc());
  }
  DLC_ASSIGN_OR_RETURN(auto args, weightedArgs(b, op, pd.src_desc(), pd.weights_desc(), 0, 1, plainDesc(g.weights, dt), 2, dst));
  b.exec(dnnl::convolution_forward(pd), std::move(args), pd.scratchpad_desc(), op);
  b.bind(op.result(), dst);
  return Status::success();
}

// ConvGradWeight(X, dY) -> dW [M, C/g, k...] (and dB): oneDNN's convolution backward-weights
// primitive (with diff_bias), hinted by the forward convolution of the same geometry; dW comes out
// in the primitive's layout and is handed on plain, grouped weights seen without their group axis.
Status lowerConvGradWeight(Builder& b, const Op& op) {
  const Type& xt = op.operand(0)->type();
  if (xt.dtype != DType::F32 || op.operand(1)->type().dtype != DType::F32) return Status::error(str(where(op), ": f32 only"));
  memory::dims x = dimsOf(xt), dy = dimsOf(op.operand(1)->type()), w = dimsOf(op.result()->type());
  DLC_ASSIGN_OR_RETURN(ConvGeometry g, convGeometry(op, x, w, dy));
  auto any = [](const memory::dims& d) { return memory::desc(d, memory::data_type::f32, memory::format_tag::any); };
  const bool with_bias = op.numResults() > 1;
  memory::desc bias_md = with_bias ? plainDesc({dy[1]}) : memory::desc();
  const size_t spatial = g.kernel.size();
  // Small inputs under larger kernels (3x3 kernels on resnet's 2x2 and 1x1 maps of 32x32 images):
  // oneDNN's JIT backward-weights kernels need the kernel to fit in the input, else it falls back
  // to per-image GEMMs of rank-1 updates, ~10x slower. Two exact rewrites bring them back:
  // - taps that never meet the input (tap k meets it when 0 ≤ o·s + k·d − pad_l < in for some
  //   output o) get zero gradient: the primitive runs on the kernel cropped to the taps
  //   [lo, hi] that do, with pad_l − lo·d, and its result fills that window of a zeroed dW;
  // - if the kernel still exceeds the input, X is padded explicitly (zeros, then X copied into the
  //   interior) and the convolution runs unpadded: the same sums over a larger input.
  memory::dims lo(spatial), kernel(spatial), pad_l(spatial), pad_r(spatial);
  bool crop = false, pad_explicitly = false;
  for (size_t i = 0; i < spatial; ++i) {
    const int64_t d = g.dilations[i] + 1, s = g.strides[i], in = x[i + 2], out = dy[i + 2];
    int64_t first = -1, last = -1;
    for (int64_t k = 0; k < g.kernel[i]; ++k) {
      bool meets = false;
      for (int64_t o = 0; o < out && !meets; ++o) meets = o * s + k * d - g.pad_l[i] >= 0 && o * s + k * d - g.pad_l[i] < in;
      if (meets && first < 0) first = k;
      if (meets) last = k;
    }
    if (first < 0) first = last = 0;  // no tap meets the input: dW is all zeros, any window will do
    lo[i] = first;
    kernel[i] = last - first + 1;
    pad_l[i] = g.pad_l[i] - first * d;
    pad_r[i] = (out - 1) * s + (kernel[i] - 1) * d + 1 - in - pad_l[i];
    if (kernel[i] != g.kernel[i]) crop = true;
  }
  for (size_t i = 0; i < spatial; ++i)
    if (pad_l[i] < 0 || pad_r[i] < 0) crop = false;  // an unusual geometry: keep the primitive's own handling
  if (!crop) {
    for (size_t i = 0; i < spatial; ++i) lo[i] = 0, kernel[i] = g.kernel[i], pad_l[i] = g.pad_l[i], pad_r[i] = g.pad_r[i];
  }
  memory::dims src_dims = x;
  for (size_t i = 0; i < spatial; ++i)
    if ((kernel[i] - 1) * (g.dilations[i] + 1) + 1 > x[i + 2] && pad_l[i] >= 0 && pad_r[i] >= 0) pad_explicitly = true;
  memory::dims x_offsets(x.size(), 0);
  if (pad_explicitly) {
    for (size_t i = 0; i < spatial; ++i) {
      src_dims[i + 2] += pad_l[i] + pad_r[i];
      x_offsets[i + 2] = pad_l[i];
      pad_l[i] = pad_r[i] = 0;
    }
  }
  memory::dims weights = g.weights;  // the primitive's (cropped) weights
  std::copy(kernel.begin(), kernel.end(), weights.end() - static_cast<std::ptrdiff_t>(spatial));
  dnnl::convolution_forward::primitive_desc fwd(
      dnnl::convolution_forward::desc(dnnl::prop_kind::forward_training, dnnl::algorithm::convolution_direct, any(src_dims),
                                      any(weights), bias_md, any(dy), g.strides, g.dilations, pad_l, pad_r),
      Builder::baseAttr(), cpuEngine());
  dnnl::convolution_backward_weights::primitive_desc pd(
      dnnl::convolution_backward_weights::desc(dnnl::algorithm::convolution_direct, any(src_dims), any(weights), bias_md,
                                               any(dy), g.strides, g.dilations, pad_l, pad_r),
      Builder::baseAttr(), cpuEngine(), fwd);
  DLC_ASSIGN_OR_RETURN(int xs, b.tensorOf(op.operand(0)));
  DLC_ASSIGN_OR_RETURN(int dys, b.tensorOf(op.operand(1)));
  int src = -1;
  if (pad_explicitly) {
    src = b.internal(pd.src_desc());
    DLC_ASSIGN_OR_RETURN(int zeros, b.zeros(pd.src_desc()));
    DLC_RETURN_IF_ERROR(b.copy(zeros, src, op));
    DLC_RETURN_IF_ERROR(b.copy(xs, b.view(src, pd.src_desc().submemory_desc(x, x_offsets)), op));
  } else {
    DLC_ASSIGN_OR_RETURN(src, b.ensure(xs, pd.src_desc()));
  }
  DLC_ASSIGN_OR_RETURN(int diff_dst, b.ensure(dys, pd.diff_dst_desc()));
  int dw = b.internal(pd.diff_weights_desc());
  std::vector<std::pair<int, int>> args{{DNNL_ARG_SRC, src}, {DNNL_ARG_DIFF_DST, diff_dst}, {DNNL_ARG_DIFF_WEIGHTS, dw}};
  if (with_bias) {
    int db = b.internal(pd.diff_bias_desc());
    args.push_back({DNNL_ARG_DIFF_BIAS, db});
    b.bind(op.result(1), db);
  }
  b.exec(dnnl::convolution_backward_weights(pd), std::move(args), pd.scratchpad_desc(), op);
  int plain = -1;
  if (crop) {
    plain = b.internal(plainDesc(g.weights));
    DLC_ASSIGN_OR_RETURN(int zeros, b.zeros(plainDesc(g.weights)));
    DLC_RETURN_IF_ERROR(b.copy(zeros, plain, op));
    memory::dims w_offsets(g.weights.size(), 0);
    std::copy(lo.begin(), lo.end(), w_offsets.end() - static_cast<std::ptrdiff_t>(spatial));
    DLC_RETURN_IF_ERROR(b.copy(dw, b.view(plain, plainDesc(g.weights).submemory_desc(weights, w_offsets)), op));
  } else {
    DLC_ASSIGN_OR_RETURN(plain, b.ensure(dw, plainDesc(g.weights)));
  }
  b.bind(op.result(), g.group > 1 ? b.view(plain, plainDesc(w)) : plain);
  return Status::success();
}

// `t`'s descriptor with its last two axes swapped (a transposed view, no copy).
memory::desc swapLastTwo(const memory::desc& md) {
  int r = md.data.ndims;
  std::vector<int> perm(static_cast<size_t>(r));
  for (int i = 0; i < r; ++i) perm[static_cast<size_t>(i)] = i;
  std::swap(perm[static_cast<size_t>(r - 1)], perm[static_cast<size_t>(r - 2)]);
  return md.permute_axes(perm);
}

Status lowerMatMul(Builder& b, const Op& op) {
  const Type& at = op.operand(0)->type();
  const Type& bt = op.operand(1)->type();
  const Type& yt = op.result()->type();
  if ((at.dtype != DType::F32 && at.dtype != DType::BF16) || bt.dtype != at.dtype)
    return Status::error(str(where(op), ": oneDNN matmul here is f32 or bf16"));
  const memory::data_type dt = *dnnlType(at.dtype);
  if (at.shape.rank() < 2 || bt.shape.rank() < 2) return Status::error(str(where(op), ": a vector operand"));
  memory::dims y = dimsOf(yt);
  int rank = static_cast<int>(y.size());
  bool trans_a = op.getInt("transA", 0) != 0, trans_b = op.getInt("transB", 0) != 0;
  float alpha = op.kind() == OpKind::FusedMatMul ? op.getFloat("alpha", 1.0f) : 1.0f;
  bool has_bias = op.numOperands() > 2 && op.operand(2), has_residual = op.numOperands() > 3 && op.operand(3);
  if (alpha != 1.0f && has_bias) return Status::error(str(where(op), ": alpha with a bias"));

  // A batched A times a 2-D B is one matmul with the batch folded into M ([..., M, K] is
  // [batch*M, K] in row-major bytes): seq-first transformer exports otherwise give M = 1 per batch
  // entry, a matrix-vector product each. The bias must not vary along the folded dims; a
  // residual of the result's shape folds like the result.
  const memory::dims y_full = y;
  bool fold = !trans_a && rank > 2 && bt.shape.rank() == 2 && at.shape.rank() == rank;
  if (fold && has_bias) {
    memory::dims c = dimsOf(op.operand(2)->type());
    for (size_t i = 0; i + 1 < c.size(); ++i) fold &= c[i] == 1;
  }
  if (fold && has_residual) fold = dimsOf(op.operand(3)->type()) == y;
  if (fold) {
    memory::dim rows = 1;
    for (int i = 0; i + 1 < rank; ++i) rows *= y[static_cast<size_t>(i)];
    y = {rows, y.back()};
    rank = 2;
  }

  DLC_ASSIGN_OR_RETURN(int a0, b.tensorOf(op.operand(0)));
  DLC_ASSIGN_OR_RETURN(int b0, b.tensorOf(op.operand(1)));
  DLC_ASSIGN_OR_RETURN(int a1, b.ensurePlain(a0));
  DLC_ASSIGN_OR_RETURN(int b1, b.ensurePlain(b0));
  memory::desc a_md = fold ? plainDesc({y[0], b.md(a1).dims().back()}, dt) : withRank(b.md(a1), rank);
  memory::desc b_md = withRank(b.md(b1), rank);
  if (trans_a) a_md = swapLastTwo(a_md);
  if (trans_b) b_md = swapLastTwo(b_md);
  int a_view = b.view(a1, a_md);
  // Constant 2-D weights (batch dims all 1) may take the layout oneDNN prefers, repacked once.
  bool packed_weights = b.isConstant(b1) && bt.shape.rank() == 2;
  memory::desc w_md = packed_weights ? memory::desc(b_md.dims(), dt, memory::format_tag::any) : b_md;
  memory::desc bias_md;
  if (has_bias) {
    memory::dims c = dimsOf(op.operand(2)->type());
    if (fold) c = {1, c.back()};
    bias_md = withRank(plainDesc(c, *dnnlType(op.operand(2)->type().dtype)), rank);
  }
  dnnl::matmul::desc desc(a_md, w_md, bias_md, plainDesc(y, dt));
  dnnl::primitive_attr attr = Builder::baseAttr();
  if (alpha != 1.0f) attr.set_output_scales(0, {alpha});
  dnnl::post_ops post;
  memory::desc r_md;
  if (has_residual) {
    r_md = fold ? plainDesc(y, dt) : withRank(plainDesc(dimsOf(op.operand(3)->type()), dt), rank);
    post.append_binary(dnnl::algorithm::binary_add, r_md);
  }
  if (op.kind() == OpKind::FusedMatMul) DLC_RETURN_IF_ERROR(appendActivation(post, op));
  attr.set_post_ops(post);
  dnnl::matmul::primitive_desc pd(desc, attr, cpuEngine());

  int b_view = b.view(b1, b_md);
  DLC_ASSIGN_OR_RETURN(int weights, b.ensure(b_view, pd.weights_desc()));
  int dst = b.internal(pd.dst_desc());
  std::vector<std::pair<int, int>> args{{DNNL_ARG_SRC, a_view}, {DNNL_ARG_WEIGHTS, weights}, {DNNL_ARG_DST, dst}};
  if (has_bias) {
    DLC_ASSIGN_OR_RETURN(int bias, b.tensorOf(op.operand(2)));
    DLC_ASSIGN_OR_RETURN(int bias_plain, b.ensurePlain(bias));
    args.push_back({DNNL_ARG_BIAS, b.view(bias_plain, bias_md)});
  }
  if (has_residual) {
    DLC_ASSIGN_OR_RETURN(int r, b.tensorOf(op.operand(3)));
    DLC_ASSIGN_OR_RETURN(int r_plain, b.ensurePlain(r));
    args.push_back({DNNL_ARG_ATTR_MULTIPLE_POST_OP(0) | DNNL_ARG_SRC_1, b.view(r_plain, r_md)});
  }
  b.exec(dnnl::matmul(pd), std::move(args), pd.scratchpad_desc(), op);
  b.bind(op.result(), fold ? b.view(dst, plainDesc(y_full, dt)) : dst);
  return Status::success();
}

// Attention(Q [B,S,H*D], K [B,T,H*D], V [B,T,H*Dv], M?) = softmax(Q_h K_h^T * scale + M) V_h.
// Q, K and V are repacked per head (contiguous [B,H,S,D], [B,H,D,T], [B,H,T,Dv]) so both
// matmuls run on dense batches; the result is reordered back to [B,S,H*Dv].
Status lowerAttention(Builder& b, const Op& op) {
  for (int i = 0; i < op.numOperands(); ++i)
    if (op.operand(i) && op.operand(i)->type().dtype != DType::F32) return Status::error(str(where(op), ": f32 only"));
  memory::dims q = dimsOf(op.operand(0)->type()), k = dimsOf(op.operand(1)->type()), v = dimsOf(op.operand(2)->type());
  int64_t h = op.getInt("num_heads", 0);
  if (q.size() != 3 || k.size() != 3 || v.size() != 3 || h <= 0 || q[2] % h || k[2] % h || v[2] % h)
    return Status::error(str(where(op), ": expects rank-3 Q, K, V split evenly into heads"));
  int64_t B = q[0], S = q[1], T = k[1], D = q[2] / h, Dv = v[2] / h;
  float scale = op.getFloat("scale", 0.0f);
  if (scale == 0.0f) scale = 1.0f / std::sqrt(static_cast<float>(D));

  // A [B,X,H,E] buffer seen as [B,H,X,E] (perm moves axis i to perm[i]).
  auto headsView = [&](int t, int64_t x, int64_t e) {
    return b.view(t, plainDesc({B, x, h, e}).permute_axes({0, 2, 1, 3}));
  };
  DLC_ASSIGN_OR_RETURN(int q0, b.tensorOf(op.operand(0)));
  DLC_ASSIGN_OR_RETURN(int k0, b.tensorOf(op.operand(1)));
  DLC_ASSIGN_OR_RETURN(int v0, b.tensorOf(op.operand(2)));
  DLC_ASSIGN_OR_RETURN(int q1, b.ensurePlain(q0));
  DLC_ASSIGN_OR_RETURN(int k1, b.ensurePlain(k0));
  DLC_ASSIGN_OR_RETURN(int v1, b.ensurePlain(v0));
  DLC_ASSIGN_OR_RETURN(int qh, b.ensure(headsView(q1, S, D), plainDesc({B, h, S, D})));
  // K as [B,H,D,T]: the [B,T,H,D] buffer with T moved last.
  int k_view = b.view(k1, plainDesc({B, T, h, D}).permute_axes({0, 3, 1, 2}));
  DLC_ASSIGN_OR_RETURN(int kh, b.ensure(k_view, plainDesc({B, h, D, T})));
  DLC_ASSIGN_OR_RETURN(int vh, b.ensure(headsView(v1, T, Dv), plainDesc({B, h, T, Dv})));

  dnnl::primitive_attr attr = Builder::baseAttr();
  attr.set_output_scales(0, {scale});
  memory::desc m_md;
  bool has_mask = op.numOperands() > 3 && op.operand(3);
  if (has_mask) {
    m_md = withRank(plainDesc(dimsOf(op.operand(3)->type())), 4);
    dnnl::post_ops post;
    post.append_binary(dnnl::algorithm::binary_add, m_md);
    attr.set_post_ops(post);
  }
  dnnl::matmul::primitive_desc scores_pd(dnnl::matmul::desc(plainDesc({B, h, S, D}), plainDesc({B, h, D, T}), plainDesc({B, h, S, T})),
                                         attr, cpuEngine());
  int scores = b.internal(plainDesc({B, h, S, T}));
  std::vector<std::pair<int, int>> args{{DNNL_ARG_SRC, qh}, {DNNL_ARG_WEIGHTS, kh}, {DNNL_ARG_DST, scores}};
  if (has_mask) {
    DLC_ASSIGN_OR_RETURN(int m0, b.tensorOf(op.operand(3)));
    DLC_ASSIGN_OR_RETURN(int m1, b.ensurePlain(m0));
    args.push_back({DNNL_ARG_ATTR_MULTIPLE_POST_OP(0) | DNNL_ARG_SRC_1, b.view(m1, m_md)});
  }
  b.exec(dnnl::matmul(scores_pd), std::move(args), scores_pd.scratchpad_desc(), op);

  dnnl::softmax_forward::primitive_desc sm_pd(
      dnnl::softmax_forward::desc(dnnl::prop_kind::forward_inference, plainDesc({B, h, S, T}), 3), Builder::baseAttr(), cpuEngine());
  b.exec(dnnl::softmax_forward(sm_pd), {{DNNL_ARG_SRC, scores}, {DNNL_ARG_DST, scores}}, sm_pd.scratchpad_desc(), op);

  dnnl::matmul::primitive_desc out_pd(dnnl::matmul::desc(plainDesc({B, h, S, T}), plainDesc({B, h, T, Dv}), plainDesc({B, h, S, Dv})),
                                      Builder::baseAttr(), cpuEngine());
  int heads_out = b.internal(plainDesc({B, h, S, Dv}));
  b.exec(dnnl::matmul(out_pd), {{DNNL_ARG_SRC, scores}, {DNNL_ARG_WEIGHTS, vh}, {DNNL_ARG_DST, heads_out}},
         out_pd.scratchpad_desc(), op);
  int y = b.internal(plainDesc({B, S, h * Dv}));
  DLC_RETURN_IF_ERROR(b.copy(heads_out, headsView(y, S, Dv), op));
  b.bind(op.result(), y);
  return Status::success();
}

// ConvTranspose(X [N,C,...], W [C, M/g, k...], B?) as oneDNN's deconvolution, whose weights are
// [g, M/g, C/g, k...]: ONNX's layout viewed with its two channel axes swapped (no copy).
Status lowerConvTranspose(Builder& b, const Op& op) {
  const Type& xt = op.operand(0)->type();
  if ((xt.dtype != DType::F32 && xt.dtype != DType::BF16) || op.operand(1)->type().dtype != xt.dtype)
    return Status::error(str(where(op), ": f32 or bf16 only"));
  const memory::data_type dt = *dnnlType(xt.dtype);
  memory::dims x = dimsOf(xt), w = dimsOf(op.operand(1)->type()), y = dimsOf(op.result()->type());
  size_t n = x.size() - 2;
  if (x.size() < 3 || x.size() > 5 || w.size() != x.size()) return Status::error(str(where(op), ": rank ", x.size()));
  int64_t group = op.getInt("group", 1);
  memory::dims kernel(w.begin() + 2, w.end());
  memory::dims strides = intsOr(op, "strides", n, 1), dilations = intsOr(op, "dilations", n, 1);
  std::vector<int64_t> pads = op.getInts("pads");
  std::string auto_pad = op.getString("auto_pad", "NOTSET");
  memory::dims pad_l(n, 0), pad_r(n, 0), dil(n, 0);
  for (size_t i = 0; i < n; ++i) {
    int64_t span = (kernel[i] - 1) * dilations[i] + 1;
    int64_t full = strides[i] * (x[i + 2] - 1) + span;  // output before padding (and output_padding)
    if (auto_pad == "SAME_UPPER" || auto_pad == "SAME_LOWER" || !op.getInts("output_shape").empty()) {
      int64_t total = std::max<int64_t>(0, full - y[i + 2]);
      pad_l[i] = auto_pad == "SAME_UPPER" ? total / 2 : total - total / 2;
    } else if (auto_pad == "NOTSET" && !pads.empty()) {
      pad_l[i] = pads[i];
    }
    // Whatever output_padding added at the end shows as less padding on the right.
    pad_r[i] = full - pad_l[i] - y[i + 2];
    // oneDNN takes a negative right padding as the extra output_padding rows (bias only).
    dil[i] = dilations[i] - 1;
  }
  int64_t c = w[0], mg = w[1];
  memory::dims wd{group, mg, c / group};
  wd.insert(wd.end(), kernel.begin(), kernel.end());
  memory::dims onnx_w{group, c / group, mg};
  onnx_w.insert(onnx_w.end(), kernel.begin(), kernel.end());
  std::vector<int> swap12(onnx_w.size());
  for (size_t i = 0; i < swap12.size(); ++i) swap12[i] = static_cast<int>(i);
  std::swap(swap12[1], swap12[2]);
  memory::desc w_view = plainDesc(onnx_w, dt).permute_axes(swap12);
  if (group == 1) {  // oneDNN wants no group axis then
    wd.erase(wd.begin());
    w_view = w_view.reshape(wd);
  }
  auto any = [dt](const memory::dims& d) { return memory::desc(d, dt, memory::format_tag::any); };
  bool has_bias = op.numOperands() > 2 && op.operand(2);
  memory::desc bias_md = has_bias ? plainDesc({y[1]}, dt) : memory::desc();
  dnnl::deconvolution_forward::primitive_desc pd(
      dnnl::deconvolution_forward::desc(dnnl::prop_kind::forward_inference, dnnl::algorithm::deconvolution_direct, any(x), any(wd),
                                        bias_md, any(y), strides, dil, pad_l, pad_r),
      Builder::baseAttr(), cpuEngine());
  int dst = b.internal(pd.dst_desc());
  DLC_ASSIGN_OR_RETURN(auto args, weightedArgs(b, op, pd.src_desc(), pd.weights_desc(), 0, 1, w_view, 2, dst));
  b.exec(dnnl::deconvolution_forward(pd), std::move(args), pd.scratchpad_desc(), op);
  b.bind(op.result(), dst);
  return Status::success();
}

// The values of a constant operand as floats / ints (scales, zero points); empty when not constant.
template <typename T>
std::vector<double> constantValues(Builder& b, const Op& op, int i) {
  std::vector<double> out;
  if (op.numOperands() <= i || !op.operand(i)) return out;
  auto t = b.tensorOf(op.operand(i));
  if (!t.ok() || !b.isConstant(*t)) return out;
  int64_t n = op.operand(i)->type().shape.numElements();
  const T* p = static_cast<const T*>(b.constantData(*t));
  for (int64_t k = 0; k < n; ++k) out.push_back(static_cast<double>(p[k]));
  return out;
}

std::vector<double> zeroPoint(Builder& b, const Op& op, int i) {
  if (op.numOperands() <= i || !op.operand(i)) return {0.0};
  DType t = op.operand(i)->type().dtype;
  return t == DType::U8 ? constantValues<uint8_t>(b, op, i) : constantValues<int8_t>(b, op, i);
}

// The int8 attributes of QLinearConv/QLinearMatMul: per-channel output scales (x_scale *
// w_scale / y_scale, on `channel_mask`), and the input and output zero points.
Expected<dnnl::primitive_attr> int8Attr(Builder& b, const Op& op, int x_scale, int w_scale, int w_zp, int y_scale,
                                        int channel_mask, int64_t channels) {
  std::vector<double> xs = constantValues<float>(b, op, x_scale), ws = constantValues<float>(b, op, w_scale),
                      ys = constantValues<float>(b, op, y_scale), xz = zeroPoint(b, op, x_scale + 1),
                      wz = zeroPoint(b, op, w_zp), yz = zeroPoint(b, op, y_scale + 1);
  if (xs.size() != 1 || ys.size() != 1 || xz.size() != 1 || yz.size() != 1 ||
      (ws.size() != 1 && static_cast<int64_t>(ws.size()) != channels))
    return Status::error(str(where(op), ": scales and zero points must be constants (per-tensor, or per output channel for the weights)"));
  for (double z : wz)
    if (z != 0) return Status::error(str(where(op), ": weight zero points must be 0 (symmetric int8 weights)"));
  std::vector<float> scales;
  for (double w : ws) scales.push_back(static_cast<float>(xs[0] * w / ys[0]));
  dnnl::primitive_attr attr = Builder::baseAttr();
  attr.set_output_scales(ws.size() == 1 ? 0 : channel_mask, scales);
  if (xz[0] != 0) attr.set_zero_points(DNNL_ARG_SRC, 0, {static_cast<int32_t>(xz[0])});
  if (yz[0] != 0) attr.set_zero_points(DNNL_ARG_DST, 0, {static_cast<int32_t>(yz[0])});
  return attr;
}

// oneDNN 2.6's int8 kernels for CPUs without a VNNI dot product (AVX2, AVX-512 without VNNI) add
// adjacent u8·s8 products in 16 bits with saturation (vpmaddubsw), so full-range weights give wrong
// results (seen: off by up to 65 steps on a Zen 2). Those CPUs leave int8 ops to the reference kernels.
bool cpuHasInt8DotProduct() { return __builtin_cpu_supports("avx512vnni") || __builtin_cpu_supports("avxvnni"); }

// True when every dim after the first two is 1.
bool pointsOnly(const memory::dims& d) {
  for (size_t i = 2; i < d.size(); ++i)
    if (d[i] != 1) return false;
  return true;
}

// A 1x1 QLinearConv of 1x1 images (a fully connected layer with its int32 bias, as fuse-qdq writes
// Linear layers) as oneDNN's int8 matmul: y[n, m] = Σ_c x[n, c]·W[m, c] + B[m], the weights
// [M, C, 1, 1] seen as the column-major [C, M] matrix. The convolution would see N images of one
// pixel each; the matmul is one GEMM.
Status lowerQLinearConvAsMatMul(Builder& b, const Op& op, const memory::dims& x, const memory::dims& w, const memory::dims& y) {
  const memory::dim N = x[0], C = x[1], M = w[0];
  const memory::data_type xt = *dnnlType(op.operand(0)->type().dtype), yt = *dnnlType(op.result()->type().dtype);
  DLC_ASSIGN_OR_RETURN(dnnl::primitive_attr attr, int8Attr(b, op, 1, 4, 5, 6, 1 << 1, M));
  DLC_ASSIGN_OR_RETURN(int x0, b.tensorOf(op.operand(0)));
  DLC_ASSIGN_OR_RETURN(int x1, b.ensurePlain(x0));
  DLC_ASSIGN_OR_RETURN(int w0, b.tensorOf(op.operand(3)));
  DLC_ASSIGN_OR_RETURN(int w1, b.ensurePlain(w0));
  const memory::desc src_md = plainDesc({N, C}, xt), dst_md = plainDesc({N, M}, yt);
  const memory::desc w_view(memory::dims{C, M}, memory::data_type::s8, memory::dims{1, C});
  const memory::desc w_md = b.isConstant(w1) ? memory::desc({C, M}, memory::data_type::s8, memory::format_tag::any) : w_view;
  const bool has_bias = op.numOperands() > 8 && op.operand(8);
  const memory::desc bias_md = has_bias ? plainDesc({1, M}, memory::data_type::s32) : memory::desc();
  dnnl::matmul::primitive_desc pd(dnnl::matmul::desc(src_md, w_md, bias_md, dst_md), attr, cpuEngine());
  DLC_ASSIGN_OR_RETURN(int weights, b.ensure(b.view(w1, w_view), pd.weights_desc()));
  int dst = b.internal(dst_md);
  std::vector<std::pair<int, int>> args{{DNNL_ARG_SRC, b.view(x1, src_md)}, {DNNL_ARG_WEIGHTS, weights}, {DNNL_ARG_DST, dst}};
  if (has_bias) {
    DLC_ASSIGN_OR_RETURN(int bias, b.tensorOf(op.operand(8)));
    DLC_ASSIGN_OR_RETURN(int bias_plain, b.ensurePlain(bias));
    args.push_back({DNNL_ARG_BIAS, b.view(bias_plain, bias_md)});
  }
  b.exec(dnnl::matmul(pd), std::move(args), pd.scratchpad_desc(), op);
  b.bind(op.result(), b.view(dst, plainDesc(y, yt)));
  return Status::success();
}

// QLinearConv(x, x_scale, x_zp, w, w_scale, w_zp, y_scale, y_zp, B?): u8/s8 activations, s8
// weights, int32 bias in the accumulator's scale; oneDNN's int8 convolution (VNNI kernels).
Status lowerQLinearConv(Builder& b, const Op& op) {
  if (!cpuHasInt8DotProduct()) return Status::error(str(where(op), ": int8 needs a CPU with VNNI (this one saturates u8*s8 pairs)"));
  DType xt = op.operand(0)->type().dtype, wt = op.operand(3)->type().dtype, yt = op.result()->type().dtype;
  if ((xt != DType::U8 && xt != DType::I8) || wt != DType::I8 || (yt != DType::U8 && yt != DType::I8))
    return Status::error(str(where(op), ": u8/s8 activations with s8 weights only"));
  memory::dims x = dimsOf(op.operand(0)->type()), w = dimsOf(op.operand(3)->type()), y = dimsOf(op.result()->type());
  if (x.size() >= 3 && pointsOnly(x) && pointsOnly(w) && pointsOnly(y) && op.getInt("group", 1) == 1) {
    bool padded = false;
    for (int64_t p : op.getInts("pads")) padded |= p != 0;
    if (!padded && op.getString("auto_pad", "NOTSET") == "NOTSET") return lowerQLinearConvAsMatMul(b, op, x, w, y);
  }
  DLC_ASSIGN_OR_RETURN(ConvGeometry g, convGeometry(op, x, w, y));
  DLC_ASSIGN_OR_RETURN(dnnl::primitive_attr attr, int8Attr(b, op, 1, 4, 5, 6, 1 << 1, y[1]));
  bool has_bias = op.numOperands() > 8 && op.operand(8);
  memory::desc bias_md = has_bias ? plainDesc({y[1]}, memory::data_type::s32) : memory::desc();
  dnnl::convolution_forward::primitive_desc pd(
      dnnl::convolution_forward::desc(dnnl::prop_kind::forward_inference, dnnl::algorithm::convolution_direct,
                                      memory::desc(x, *dnnlType(xt), memory::format_tag::any),
                                      memory::desc(g.weights, memory::data_type::s8, memory::format_tag::any), bias_md,
                                      memory::desc(y, *dnnlType(yt), memory::format_tag::any), g.strides, g.dilations, g.pad_l,
                                      g.pad_r),
      attr, cpuEngine());
  int dst = b.internal(pd.dst_desc());
  DLC_ASSIGN_OR_RETURN(auto args, weightedArgs(b, op, pd.src_desc(), pd.weights_desc(), 0, 3,
                                               plainDesc(g.weights, memory::data_type::s8), 8, dst));
  b.exec(dnnl::convolution_forward(pd), std::move(args), pd.scratchpad_desc(), op);
  b.bind(op.result(), dst);
  return Status::success();
}

// QLinearMatMul(a, a_scale, a_zp, b, b_scale, b_zp, y_scale, y_zp): u8/s8 x s8 -> u8/s8, batched.
Status lowerQLinearMatMul(Builder& b, const Op& op) {
  if (!cpuHasInt8DotProduct()) return Status::error(str(where(op), ": int8 needs a CPU with VNNI (this one saturates u8*s8 pairs)"));
  DType at = op.operand(0)->type().dtype, bt = op.operand(3)->type().dtype, yt = op.result()->type().dtype;
  if ((at != DType::U8 && at != DType::I8) || bt != DType::I8 || (yt != DType::U8 && yt != DType::I8))
    return Status::error(str(where(op), ": u8/s8 activations with s8 weights only"));
  if (op.operand(0)->type().shape.rank() < 2 || op.operand(3)->type().shape.rank() < 2)
    return Status::error(str(where(op), ": a vector operand"));
  memory::dims y = dimsOf(op.result()->type());
  int rank = static_cast<int>(y.size());
  DLC_ASSIGN_OR_RETURN(dnnl::primitive_attr attr, int8Attr(b, op, 1, 4, 5, 6, 1 << (rank - 1), y.back()));
  DLC_ASSIGN_OR_RETURN(int a0, b.tensorOf(op.operand(0)));
  DLC_ASSIGN_OR_RETURN(int b0, b.tensorOf(op.operand(3)));
  memory::desc a_md = withRank(b.md(a0), rank), b_md = withRank(b.md(b0), rank);
  bool packed = b.isConstant(b0) && op.operand(3)->type().shape.rank() == 2;
  memory::desc w_md = packed ? memory::desc(b_md.dims(), memory::data_type::s8, memory::format_tag::any) : b_md;
  dnnl::matmul::primitive_desc pd(dnnl::matmul::desc(a_md, w_md, plainDesc(y, *dnnlType(yt))), attr, cpuEngine());
  DLC_ASSIGN_OR_RETURN(int weights, b.ensure(b.view(b0, b_md), pd.weights_desc()));
  int dst = b.internal(pd.dst_desc());
  b.exec(dnnl::matmul(pd), {{DNNL_ARG_SRC, b.view(a0, a_md)}, {DNNL_ARG_WEIGHTS, weights}, {DNNL_ARG_DST, dst}},
         pd.scratchpad_desc(), op);
  b.bind(op.result(), dst);
  return Status::success();
}

// MatMulInteger(a, b, a_zp?, b_zp?) -> s32 with a [..., M, K] u8/s8 and a 2-D s8 b: oneDNN's int8
// matmul, the batch folded into M. a's zero point may be a run-time scalar (DynamicQuantizeLinear's
// output, which is how dynamic quantization uses it); b's must be zero (symmetric weights).
Status lowerMatMulInteger(Builder& b, const Op& op) {
  if (!cpuHasInt8DotProduct()) return Status::error(str(where(op), ": int8 needs a CPU with VNNI (this one saturates u8*s8 pairs)"));
  const DType at = op.operand(0)->type().dtype, bt = op.operand(1)->type().dtype;
  if ((at != DType::U8 && at != DType::I8) || bt != DType::I8) return Status::error(str(where(op), ": u8/s8 times s8 only"));
  memory::dims a = dimsOf(op.operand(0)->type()), w = dimsOf(op.operand(1)->type()), y = dimsOf(op.result()->type());
  if (a.size() < 2 || w.size() != 2) return Status::error(str(where(op), ": a batched or matrix a times a matrix b only"));
  for (double z : zeroPoint(b, op, 3))
    if (z != 0) return Status::error(str(where(op), ": b's zero point must be constant 0"));
  if (op.numOperands() > 3 && op.operand(3) && zeroPoint(b, op, 3).empty())
    return Status::error(str(where(op), ": b's zero point must be constant 0"));
  memory::dim rows = 1;
  for (size_t i = 0; i + 1 < a.size(); ++i) rows *= a[i];
  const memory::dim K = a.back(), N = w[1];
  dnnl::primitive_attr attr = Builder::baseAttr();
  std::vector<std::pair<int, int>> extra;
  if (op.numOperands() > 2 && op.operand(2)) {
    if (op.operand(2)->type().shape.numElements() != 1) return Status::error(str(where(op), ": a per-row zero point"));
    std::vector<double> z = zeroPoint(b, op, 2);
    if (!z.empty()) {
      if (z[0] != 0) attr.set_zero_points(DNNL_ARG_SRC, 0, {static_cast<int32_t>(z[0])});
    } else {
      attr.set_zero_points(DNNL_ARG_SRC, 0, {DNNL_RUNTIME_S32_VAL});
      DLC_ASSIGN_OR_RETURN(int zp, b.tensorOf(op.operand(2)));
      DLC_ASSIGN_OR_RETURN(int zp32, b.ensure(b.view(zp, plainDesc({1}, *dnnlType(op.operand(2)->type().dtype))),
                                              plainDesc({1}, memory::data_type::s32)));
      extra.push_back({DNNL_ARG_ATTR_ZERO_POINTS | DNNL_ARG_SRC, zp32});
    }
  }
  DLC_ASSIGN_OR_RETURN(int a0, b.tensorOf(op.operand(0)));
  DLC_ASSIGN_OR_RETURN(int a1, b.ensurePlain(a0));
  DLC_ASSIGN_OR_RETURN(int w0, b.tensorOf(op.operand(1)));
  DLC_ASSIGN_OR_RETURN(int w1, b.ensurePlain(w0));
  const memory::desc a_md = plainDesc({rows, K}, *dnnlType(at)), dst_md = plainDesc({rows, N}, memory::data_type::s32);
  const memory::desc w_plain = plainDesc({K, N}, memory::data_type::s8);
  const memory::desc w_md = b.isConstant(w1) ? memory::desc({K, N}, memory::data_type::s8, memory::format_tag::any) : w_plain;
  dnnl::matmul::primitive_desc pd(dnnl::matmul::desc(a_md, w_md, dst_md), attr, cpuEngine());
  DLC_ASSIGN_OR_RETURN(int weights, b.ensure(b.view(w1, w_plain), pd.weights_desc()));
  int dst = b.internal(dst_md);
  std::vector<std::pair<int, int>> args{{DNNL_ARG_SRC, b.view(a1, a_md)}, {DNNL_ARG_WEIGHTS, weights}, {DNNL_ARG_DST, dst}};
  args.insert(args.end(), extra.begin(), extra.end());
  b.exec(dnnl::matmul(pd), std::move(args), pd.scratchpad_desc(), op);
  b.bind(op.result(), b.view(dst, plainDesc(y, memory::data_type::s32)));
  return Status::success();
}

}  // namespace

Status lowerMatMulIntegerOp(Builder& b, const Op& op) { return lowerMatMulInteger(b, op); }
Status lowerConvTransposeOp(Builder& b, const Op& op) { return lowerConvTranspose(b, op); }
Status lowerQLinearConvOp(Builder& b, const Op& op) { return lowerQLinearConv(b, op); }
Status lowerQLinearMatMulOp(Builder& b, const Op& op) { return lowerQLinearMatMul(b, op); }
Status lowerConvOp(Builder& b, const Op& op) { return lowerConv(b, op); }
Status lowerConvGradWeightOp(Builder& b, const Op& op) { return lowerConvGradWeight(b, op); }
Status lowerMatMulOp(Builder& b, const Op& op) { return lowerMatMul(b, op); }
Status lowerAttentionOp(Builder& b, const Op& op) { return lowerAttention(b, op); }

}  // namespace dlc::onednn
