// Lowering of the memory-bound ops (elementwise ops are in lower_elementwise.cc): pooling and its
// gradients, activation gradients, sum/mean reductions, normalizations, softmax, concat, and the
// layout ops (reshape-likes as views, transpose, split and slice as reorders). Also the activation
// post-ops and the lowering table.
#include <algorithm>
#include <cmath>
#include <limits>

#include "backends/onednn/library/program.h"

namespace dlc::onednn {

using dnnl::algorithm;
using dnnl::memory;

Status lowerConvOp(Builder& b, const Op& op);
Status lowerMatMulOp(Builder& b, const Op& op);
Status lowerAttentionOp(Builder& b, const Op& op);
Status lowerConvTransposeOp(Builder& b, const Op& op);
Status lowerQLinearConvOp(Builder& b, const Op& op);
Status lowerQLinearMatMulOp(Builder& b, const Op& op);
Status lowerQuantizeOp(Builder& b, const Op& op);
Status lowerMatMulIntegerOp(Builder& b, const Op& op);
Status lowerCastOp(Builder& b, const Op& op);
Status lowerDynamicQuantizeOp(Builder& b, const Op& op);
Status lowerQLinearBinaryOp(Builder& b, const Op& op);
Status lowerConvGradWeightOp(Builder& b, const Op& op);
Status lowerEltwiseOp(Builder& b, const Op& op);
Status lowerBinaryOp(Builder& b, const Op& op);

Status appendActivation(dnnl::post_ops& ops, const Op& op) {
  std::string name = op.getString("activation", "none");
  float a = op.getFloat("activation_alpha", 0.0f), c = op.getFloat("activation_beta", 0.0f);
  if (name == "none") return Status::success();
  if (name == "Relu") ops.append_eltwise(1.0f, algorithm::eltwise_relu, 0.0f, 0.0f);
  else if (name == "LeakyRelu") ops.append_eltwise(1.0f, algorithm::eltwise_relu, a, 0.0f);
  else if (name == "Clip") ops.append_eltwise(1.0f, algorithm::eltwise_clip_v2, a, c);
  else if (name == "Sigmoid") ops.append_eltwise(1.0f, algorithm::eltwise_logistic, 0.0f, 0.0f);
  else if (name == "HardSwish") ops.append_eltwise(1.0f, algorithm::eltwise_hardswish, 0.0f, 0.0f);
  else if (name == "Silu") ops.append_eltwise(1.0f, algorithm::eltwise_swish, 1.0f, 0.0f);
  else if (name == "Gelu") ops.append_eltwise(1.0f, algorithm::eltwise_gelu_erf, 0.0f, 0.0f);
  else if (name == "Tanh") ops.append_eltwise(1.0f, algorithm::eltwise_tanh, 0.0f, 0.0f);
  else if (name == "HardSigmoid") {  // max(0, min(1, a x + c))
    ops.append_eltwise(1.0f, algorithm::eltwise_linear, a, c);
    ops.append_eltwise(1.0f, algorithm::eltwise_clip_v2, 0.0f, 1.0f);
  } else {
    return Status::error(str(where(op), ": activation ", name));
  }
  return Status::success();
}

bool isF32(const Op& op) {
  for (const Value* v : op.operands())
    if (v && (!v->type().isTensor() || v->type().dtype != DType::F32)) return false;
  return true;
}

bool isF32OrBf16(const Op& op) {
  if (isF32(op)) return true;
  for (const Value* v : op.operands())
    if (v && (!v->type().isTensor() || v->type().dtype != DType::BF16)) return false;
  return true;
}

// The channel-blocked layout of oneDNN's JIT kernels on this CPU (16 channels with AVX-512, 8 with
// AVX2) for a 2-D or 3-D image tensor; plain for other ranks.
memory::desc channelBlocked(const memory::dims& d) {
  bool wide = __builtin_cpu_supports("avx512f");
  if (d.size() == 4) return memory::desc(d, memory::data_type::f32, wide ? memory::format_tag::nChw16c : memory::format_tag::nChw8c);
  if (d.size() == 5) return memory::desc(d, memory::data_type::f32, wide ? memory::format_tag::nCdhw16c : memory::format_tag::nCdhw8c);
  return plainDesc(d);
}

// True when `d` (NumPy-aligned to `y`'s rank) is 1 everywhere but the channel axis 1.
bool isPerChannel(memory::dims d, const memory::dims& y) {
  while (d.size() < y.size()) d.insert(d.begin(), 1);
  if (d.size() != y.size() || y.size() < 3) return false;
  for (size_t i = 0; i < d.size(); ++i)
    if (d[i] != (i == 1 ? y[1] : 1)) return false;
  return true;
}

namespace {

// A pool's geometry in oneDNN's terms from X's and Y's dims (for the gradients, dY's), with the
// algorithm; ceil mode and SAME padding show as extra right padding.
struct PoolGeometry {
  memory::dims kernel, strides, dil, pad_l, pad_r;
  algorithm alg;
};
Expected<PoolGeometry> poolGeometry(const Op& op, const memory::dims& x, const memory::dims& y, bool global, bool is_max) {
  size_t n = x.size() - 2;
  if (x.size() < 3 || x.size() > 5) return Status::error(str(where(op), ": rank ", x.size()));
  PoolGeometry g;
  g.kernel.assign(x.begin() + 2, x.end());
  g.strides.assign(n, 1);
  g.dil.assign(n, 0);
  g.pad_l.assign(n, 0);
  g.pad_r.assign(n, 0);
  if (!global) {
    std::vector<int64_t> k = op.getInts("kernel_shape"), s = op.getInts("strides"), d = op.getInts("dilations"),
                         p = op.getInts("pads");
    if (k.size() != n) return Status::error(str(where(op), ": kernel_shape"));
    std::string auto_pad = op.getString("auto_pad", "NOTSET");
    bool ceil_mode = op.getInt("ceil_mode", 0) != 0;
    for (size_t i = 0; i < n; ++i) {
      g.kernel[i] = k[i];
      g.strides[i] = s.empty() ? 1 : s[i];
      int64_t dilation = d.empty() ? 1 : d[i];
      g.dil[i] = dilation - 1;
      int64_t span = (g.kernel[i] - 1) * dilation + 1;
      int64_t total = std::max<int64_t>(0, (y[i + 2] - 1) * g.strides[i] + span - x[i + 2]);
      if (auto_pad == "NOTSET") {
        g.pad_l[i] = p.empty() ? 0 : p[i];
        // Ceil mode (or SAME) may need more on the right than `pads` says: the window runs past.
        g.pad_r[i] = std::max<int64_t>(p.empty() ? 0 : p[i + n], total - g.pad_l[i]);
      } else if (auto_pad == "SAME_UPPER" || auto_pad == "SAME_LOWER") {
        g.pad_l[i] = auto_pad == "SAME_UPPER" ? total / 2 : total - total / 2;
        g.pad_r[i] = total - g.pad_l[i];
      }
      if (!is_max && op.getInt("count_include_pad", 0) && (ceil_mode || auto_pad != "NOTSET"))
        return Status::error(str(where(op), ": count_include_pad with implicit padding"));
    }
  }
  g.alg = is_max ? algorithm::pooling_max
                 : (!global && op.getInt("count_include_pad", 0) ? algorithm::pooling_avg_include_padding
                                                                 : algorithm::pooling_avg_exclude_padding);
  return g;
}

Status lowerPool(Builder& b, const Op& op) {
  // Max pooling also runs on the u8/s8 tensors of a quantized model (max commutes with quantization).
  const DType xt = op.operand(0)->type().dtype;
  const bool int8_max = op.kind() == OpKind::MaxPool && (xt == DType::U8 || xt == DType::I8);
  if (!isF32OrBf16(op) && !int8_max) return Status::error(str(where(op), ": f32 or bf16 only (u8/s8 for MaxPool)"));
  if (op.numResults() > 1 && op.result(1)->hasUses()) return Status::error(str(where(op), ": MaxPool indices"));
  memory::dims x = dimsOf(op.operand(0)->type()), y = dimsOf(op.result()->type());
  bool global = op.kind() == OpKind::GlobalAveragePool || op.kind() == OpKind::GlobalMaxPool;
  bool is_max = op.kind() == OpKind::MaxPool || op.kind() == OpKind::GlobalMaxPool;
  DLC_ASSIGN_OR_RETURN(PoolGeometry g, poolGeometry(op, x, y, global, is_max));
  DLC_ASSIGN_OR_RETURN(int src, b.tensorOf(op.operand(0)));
  memory::desc dst_any(y, *dnnlType(xt), memory::format_tag::any);
  dnnl::pooling_v2_forward::primitive_desc pd(
      dnnl::pooling_v2_forward::desc(dnnl::prop_kind::forward_inference, g.alg, b.md(src), dst_any, g.strides, g.kernel, g.dil,
                                     g.pad_l, g.pad_r),
      Builder::baseAttr(), cpuEngine());
  int dst = b.internal(pd.dst_desc());
  b.exec(dnnl::pooling_v2_forward(pd), {{DNNL_ARG_SRC, src}, {DNNL_ARG_DST, dst}}, pd.scratchpad_desc(), op);
  b.bind(op.result(), dst);
  return Status::success();
}

// MaxPoolGrad(dY, X) / AveragePoolGrad(dY, X): oneDNN's pooling backward. Max pooling's backward
// needs the forward's workspace (where each maximum was), so the forward runs again here, in
// training mode, on X.
Status lowerPoolGrad(Builder& b, const Op& op) {
  if (!isF32(op)) return Status::error(str(where(op), ": f32 only"));
  bool is_max = op.kind() == OpKind::MaxPoolGrad;
  memory::dims x = dimsOf(op.operand(1)->type()), y = dimsOf(op.operand(0)->type());
  DLC_ASSIGN_OR_RETURN(PoolGeometry g, poolGeometry(op, x, y, false, is_max));
  DLC_ASSIGN_OR_RETURN(int xs, b.tensorOf(op.operand(1)));
  DLC_ASSIGN_OR_RETURN(int dys, b.tensorOf(op.operand(0)));
  // In the layout of a convolution's output (oneDNN's pooling has JIT code only for blocked
  // layouts; X arrives plain from the forward step): the reorders cost far less than plain pooling.
  memory::desc x_any(x, memory::data_type::f32, memory::format_tag::any), y_any(y, memory::data_type::f32, memory::format_tag::any);
  memory::desc x_md = b.md(xs) != plainDesc(x) ? b.md(xs) : channelBlocked(x);
  dnnl::pooling_v2_forward::primitive_desc fwd(
      dnnl::pooling_v2_forward::desc(dnnl::prop_kind::forward_training, g.alg, x_md, y_any, g.strides, g.kernel, g.dil, g.pad_l,
                                     g.pad_r),
      Builder::baseAttr(), cpuEngine());
  dnnl::pooling_v2_backward::primitive_desc pd(
      dnnl::pooling_v2_backward::desc(g.alg, x_any, fwd.dst_desc(), g.strides, g.kernel, g.dil, g.pad_l, g.pad_r),
      Builder::baseAttr(), cpuEngine(), fwd);
  DLC_ASSIGN_OR_RETURN(xs, b.ensure(xs, fwd.src_desc()));
  DLC_ASSIGN_OR_RETURN(int diff_dst, b.ensure(dys, pd.diff_dst_desc()));
  std::vector<std::pair<int, int>> args{{DNNL_ARG_DIFF_DST, diff_dst}};
  if (is_max) {
    int recomputed = b.internal(fwd.dst_desc());
    int ws = b.internal(fwd.workspace_desc());
    b.exec(dnnl::pooling_v2_forward(fwd), {{DNNL_ARG_SRC, xs}, {DNNL_ARG_DST, recomputed}, {DNNL_ARG_WORKSPACE, ws}},
           fwd.scratchpad_desc(), op);
    args.push_back({DNNL_ARG_WORKSPACE, ws});
  }
  int dx = b.internal(pd.diff_src_desc());
  args.push_back({DNNL_ARG_DIFF_SRC, dx});
  b.exec(dnnl::pooling_v2_backward(pd), std::move(args), pd.scratchpad_desc(), op);
  b.bind(op.result(), dx);
  return Status::success();
}

// ActivationGrad(dY, X): oneDNN's eltwise backward from the source, in X's layout. HardSigmoid has
// no oneDNN algorithm in this version and stays with the reference kernels.
Status lowerActivationGrad(Builder& b, const Op& op) {
  if (!isF32(op)) return Status::error(str(where(op), ": f32 only"));
  std::string a = op.getString("activation");
  float alpha = op.getFloat("activation_alpha", 0.0f), beta = op.getFloat("activation_beta", 0.0f);
  algorithm alg;
  if (a == "Relu") alg = algorithm::eltwise_relu, alpha = 0;
  else if (a == "LeakyRelu") alg = algorithm::eltwise_relu;
  else if (a == "Elu") alg = algorithm::eltwise_elu;
  else if (a == "Sigmoid") alg = algorithm::eltwise_logistic;
  else if (a == "Tanh") alg = algorithm::eltwise_tanh;
  else if (a == "Gelu") alg = algorithm::eltwise_gelu_erf;
  else if (a == "GeluTanh") alg = algorithm::eltwise_gelu_tanh;
  else if (a == "HardSwish") alg = algorithm::eltwise_hardswish;
  else if (a == "Clip") alg = algorithm::eltwise_clip_v2;
  else if (a == "Softplus") alg = algorithm::eltwise_soft_relu;
  else return Status::error(str(where(op), ": no oneDNN eltwise backward for ", a));
  DLC_ASSIGN_OR_RETURN(int xs, b.tensorOf(op.operand(1)));
  DLC_ASSIGN_OR_RETURN(int dys, b.tensorOf(op.operand(0)));
  DLC_ASSIGN_OR_RETURN(int dy, b.ensure(dys, b.md(xs)));
  dnnl::eltwise_forward::primitive_desc fwd(
      dnnl::eltwise_forward::desc(dnnl::prop_kind::forward_training, alg, b.md(xs), alpha, beta), Builder::baseAttr(), cpuEngine());
  dnnl::eltwise_backward::primitive_desc pd(dnnl::eltwise_backward::desc(alg, b.md(xs), b.md(xs), alpha, beta), Builder::baseAttr(),
                                            cpuEngine(), fwd);
  int dx = b.internal(pd.diff_src_desc());
  b.exec(dnnl::eltwise_backward(pd), {{DNNL_ARG_SRC, xs}, {DNNL_ARG_DIFF_DST, dy}, {DNNL_ARG_DIFF_SRC, dx}}, pd.scratchpad_desc(), op);
  b.bind(op.result(), dx);
  return Status::success();
}

// ReduceSum / ReduceMean over constant axes: oneDNN's reduction into the kept-dims shape, then
// seen without the reduced axes when keepdims is 0.
Status lowerReduce(Builder& b, const Op& op) {
  if (op.operand(0)->type().dtype != DType::F32) return Status::error(str(where(op), ": f32 only"));
  memory::dims x = dimsOf(op.operand(0)->type());
  int rank = static_cast<int>(x.size());
  std::vector<int64_t> axes;
  if (op.kind() == OpKind::ReduceSum) {
    if (op.numOperands() > 1 && op.operand(1)) {
      DLC_ASSIGN_OR_RETURN(int t, b.tensorOf(op.operand(1)));
      if (!b.isConstant(t)) return Status::error(str(where(op), ": axes must be constant"));
      const int64_t* p = static_cast<const int64_t*>(b.constantData(t));
      axes.assign(p, p + b.md(t).get_size() / sizeof(int64_t));
    } else if (op.getInt("noop_with_empty_axes", 0)) {
      return Status::error(str(where(op), ": an identity ReduceSum"));
    }
  } else {
    axes = op.getInts("axes");
  }
  if (axes.empty())
    for (int i = 0; i < rank; ++i) axes.push_back(i);
  memory::dims kept = x;
  for (int64_t& a : axes) {
    if (a < 0) a += rank;
    if (a < 0 || a >= rank) return Status::error(str(where(op), ": axis out of range"));
    kept[static_cast<size_t>(a)] = 1;
  }
  if (rank == 0) return Status::error(str(where(op), ": a scalar"));
  DLC_ASSIGN_OR_RETURN(int xs, b.tensorOf(op.operand(0)));
  algorithm alg = op.kind() == OpKind::ReduceSum ? algorithm::reduction_sum : algorithm::reduction_mean;
  auto reduce = [&](int src, const memory::dims& to) -> int {
    dnnl::reduction::primitive_desc pd(
        dnnl::reduction::desc(alg, b.md(src), memory::desc(to, memory::data_type::f32, memory::format_tag::any), 0.0f, 0.0f),
        Builder::baseAttr(), cpuEngine());
    int dst = b.internal(pd.dst_desc());
    b.exec(dnnl::reduction(pd), {{DNNL_ARG_SRC, src}, {DNNL_ARG_DST, dst}}, pd.scratchpad_desc(), op);
    return dst;
  };
  // oneDNN 2.6 has a JIT reduction only over the innermost axes of a plain tensor (others fall to
  // its reference code: 16 ms instead of 0.3 for a bias gradient over N, H, W). So the reduced
  // innermost axes go first, on the plain tensor, and the rest (now small) after.
  size_t inner = x.size();
  while (inner > 0 && kept[inner - 1] == 1 && x[inner - 1] != 1) --inner;
  int y;
  if (inner < x.size() && kept != memory::dims(x.size(), 1)) {
    DLC_ASSIGN_OR_RETURN(int plain, b.ensurePlain(xs));
    memory::dims mid = x;
    for (size_t i = inner; i < x.size(); ++i) mid[i] = 1;
    int partial = reduce(plain, mid);
    y = mid == kept ? partial : reduce(partial, kept);
  } else {
    y = reduce(xs, kept);
  }
  if (op.getInt("keepdims", 1) != 0) {
    b.bind(op.result(), y);
    return Status::success();
  }
  DLC_ASSIGN_OR_RETURN(int plain, b.ensurePlain(y));
  b.bind(op.result(), b.view(plain, plainDesc(dimsOf(op.result()->type()))));
  return Status::success();
}

Status lowerSoftmax(Builder& b, const Op& op) {
  if (!isF32(op)) return Status::error(str(where(op), ": f32 only"));
  int rank = op.operand(0)->type().shape.rank();
  int64_t axis = op.getInt("axis", -1);
  if (axis < 0) axis += rank;
  if (rank == 0 || axis < 0 || axis >= rank) return Status::error(str(where(op), ": axis"));
  DLC_ASSIGN_OR_RETURN(int x0, b.tensorOf(op.operand(0)));
  DLC_ASSIGN_OR_RETURN(int x, b.ensurePlain(x0));
  dnnl::softmax_forward::primitive_desc pd(
      dnnl::softmax_forward::desc(dnnl::prop_kind::forward_inference, b.md(x), static_cast<int>(axis)), Builder::baseAttr(), cpuEngine());
  int y = b.internal(b.md(x));
  b.exec(dnnl::softmax_forward(pd), {{DNNL_ARG_SRC, x}, {DNNL_ARG_DST, y}}, pd.scratchpad_desc(), op);
  b.bind(op.result(), y);
  return Status::success();
}

Status lowerLayerNorm(Builder& b, const Op& op) {
  if (!isF32(op)) return Status::error(str(where(op), ": f32 only"));
  for (int r = 1; r < op.numResults(); ++r)
    if (op.result(r)->hasUses()) return Status::error(str(where(op), ": mean/inv-std-dev outputs"));
  int rank = op.operand(0)->type().shape.rank();
  int64_t axis = op.getInt("axis", -1);
  if (axis < 0) axis += rank;
  memory::dims x = dimsOf(op.operand(0)->type());
  if (axis != rank - 1) return Status::error(str(where(op), ": normalizes over the last axis only"));
  memory::dims c{x.back()};
  if (dimsOf(op.operand(1)->type()) != c || (op.operand(2) && dimsOf(op.operand(2)->type()) != c))
    return Status::error(str(where(op), ": scale and bias of the last axis' size"));
  auto flags = dnnl::normalization_flags::use_scale | (op.operand(2) ? dnnl::normalization_flags::use_shift
                                                                       : dnnl::normalization_flags::none);
  DLC_ASSIGN_OR_RETURN(int x0, b.tensorOf(op.operand(0)));
  DLC_ASSIGN_OR_RETURN(int xs, b.ensurePlain(x0));
  dnnl::layer_normalization_forward::primitive_desc pd(
      dnnl::layer_normalization_forward::desc(dnnl::prop_kind::forward_inference, b.md(xs), op.getFloat("epsilon", 1e-5f), flags),
      Builder::baseAttr(), cpuEngine());
  DLC_ASSIGN_OR_RETURN(int scale, b.tensorOf(op.operand(1)));
  int y = b.internal(b.md(xs));
  std::vector<std::pair<int, int>> args{{DNNL_ARG_SRC, xs}, {DNNL_ARG_SCALE, scale}, {DNNL_ARG_DST, y}};
  if (op.operand(2)) {
    DLC_ASSIGN_OR_RETURN(int shift, b.tensorOf(op.operand(2)));
    args.push_back({DNNL_ARG_SHIFT, shift});
  }
  b.exec(dnnl::layer_normalization_forward(pd), std::move(args), pd.scratchpad_desc(), op);
  b.bind(op.result(), y);
  return Status::success();
}

// RMSNormalization(X, γ) over the last axis. oneDNN 2.6 has no RMS norm: the mean square comes
// from a reduction (Σx², the L2 power-sum with eps 0, times 1/C as a post-op) and the rest from
// layer normalization with given statistics, mean 0 and variance ms: y = (x - 0)/sqrt(ms + ε)·γ.
Status lowerRmsNorm(Builder& b, const Op& op) {
  if (!isF32(op)) return Status::error(str(where(op), ": f32 only"));
  int rank = op.operand(0)->type().shape.rank();
  int64_t axis = op.getInt("axis", -1);
  if (axis < 0) axis += rank;
  if (rank < 2 || axis != rank - 1) return Status::error(str(where(op), ": normalizes over the last axis of a rank >= 2 input only"));
  memory::dims x = dimsOf(op.operand(0)->type());
  memory::dims c{x.back()};
  if (dimsOf(op.operand(1)->type()) != c) return Status::error(str(where(op), ": scale of the last axis' size"));
  DLC_ASSIGN_OR_RETURN(int x0, b.tensorOf(op.operand(0)));
  DLC_ASSIGN_OR_RETURN(int xs, b.ensurePlain(x0));
  memory::dims reduced = x, stats(x.begin(), x.end() - 1);
  reduced.back() = 1;
  dnnl::post_ops scale_by_len;
  scale_by_len.append_eltwise(1.0f, dnnl::algorithm::eltwise_linear, 1.0f / static_cast<float>(x.back()), 0.0f);
  dnnl::primitive_attr attr = Builder::baseAttr();
  attr.set_post_ops(scale_by_len);
  dnnl::reduction::primitive_desc rpd(
      dnnl::reduction::desc(dnnl::algorithm::reduction_norm_lp_power_p_sum, b.md(xs), plainDesc(reduced), 2.0f, 0.0f), attr, cpuEngine());
  int ms = b.internal(plainDesc(reduced));
  b.exec(dnnl::reduction(rpd), {{DNNL_ARG_SRC, xs}, {DNNL_ARG_DST, ms}}, rpd.scratchpad_desc(), op);
  int variance = b.view(ms, plainDesc(stats));
  DLC_ASSIGN_OR_RETURN(int mean, b.zeros(plainDesc(stats)));
  auto flags = dnnl::normalization_flags::use_global_stats | dnnl::normalization_flags::use_scale;
  dnnl::layer_normalization_forward::primitive_desc pd(
      dnnl::layer_normalization_forward::desc(dnnl::prop_kind::forward_inference, b.md(xs), plainDesc(stats), op.getFloat("epsilon", 1e-5f), flags),
      Builder::baseAttr(), cpuEngine());
  DLC_ASSIGN_OR_RETURN(int scale, b.tensorOf(op.operand(1)));
  int y = b.internal(b.md(xs));
  b.exec(dnnl::layer_normalization_forward(pd),
         {{DNNL_ARG_SRC, xs}, {DNNL_ARG_MEAN, mean}, {DNNL_ARG_VARIANCE, variance}, {DNNL_ARG_SCALE, scale}, {DNNL_ARG_DST, y}},
         pd.scratchpad_desc(), op);
  b.bind(op.result(), y);
  return Status::success();
}

Status lowerBatchNorm(Builder& b, const Op& op) {
  if (!isF32(op)) return Status::error(str(where(op), ": f32 only"));
  for (int r = 1; r < op.numResults(); ++r)
    if (op.result(r)->hasUses()) return Status::error(str(where(op), ": training outputs"));
  if (op.getInt("training_mode", 0)) return Status::error(str(where(op), ": training mode"));
  auto flags = dnnl::normalization_flags::use_global_stats | dnnl::normalization_flags::use_scale |
               dnnl::normalization_flags::use_shift;
  DLC_ASSIGN_OR_RETURN(int x, b.tensorOf(op.operand(0)));
  dnnl::batch_normalization_forward::primitive_desc pd(
      dnnl::batch_normalization_forward::desc(dnnl::prop_kind::forward_inference, b.md(x), op.getFloat("epsilon", 1e-5f), flags),
      Builder::baseAttr(), cpuEngine());
  int args_of[4] = {DNNL_ARG_SCALE, DNNL_ARG_SHIFT, DNNL_ARG_MEAN, DNNL_ARG_VARIANCE};
  int y = b.internal(b.md(x));
  std::vector<std::pair<int, int>> args{{DNNL_ARG_SRC, x}, {DNNL_ARG_DST, y}};
  for (int i = 0; i < 4; ++i) {
    DLC_ASSIGN_OR_RETURN(int t, b.tensorOf(op.operand(i + 1)));
    DLC_ASSIGN_OR_RETURN(int p, b.ensurePlain(t));
    args.push_back({args_of[i], p});
  }
  b.exec(dnnl::batch_normalization_forward(pd), std::move(args), pd.scratchpad_desc(), op);
  b.bind(op.result(), y);
  return Status::success();
}

// BatchNormTraining(X, γ, β) -> Y, mean, var: oneDNN's batch normalization in training mode, which
// computes the batch mean and (population) variance it normalizes with.
Status lowerBatchNormTraining(Builder& b, const Op& op) {
  if (!isF32(op)) return Status::error(str(where(op), ": f32 only"));
  auto flags = dnnl::normalization_flags::use_scale | dnnl::normalization_flags::use_shift;
  DLC_ASSIGN_OR_RETURN(int x, b.tensorOf(op.operand(0)));
  dnnl::batch_normalization_forward::primitive_desc pd(
      dnnl::batch_normalization_forward::desc(dnnl::prop_kind::forward_training, b.md(x), op.getFloat("epsilon", 1e-5f), flags),
      Builder::baseAttr(), cpuEngine());
  int y = b.internal(pd.dst_desc()), mean = b.internal(pd.mean_desc()), var = b.internal(pd.variance_desc());
  std::vector<std::pair<int, int>> args{{DNNL_ARG_SRC, x}, {DNNL_ARG_DST, y}, {DNNL_ARG_MEAN, mean}, {DNNL_ARG_VARIANCE, var}};
  for (auto [i, arg] : {std::pair<int, int>{1, DNNL_ARG_SCALE}, {2, DNNL_ARG_SHIFT}}) {
    DLC_ASSIGN_OR_RETURN(int t, b.tensorOf(op.operand(i)));
    DLC_ASSIGN_OR_RETURN(int p, b.ensurePlain(t));
    args.push_back({arg, p});
  }
  b.exec(dnnl::batch_normalization_forward(pd), std::move(args), pd.scratchpad_desc(), op);
  b.bind(op.result(0), y);
  b.bind(op.result(1), mean);
  b.bind(op.result(2), var);
  return Status::success();
}

// BatchNormTrainingGrad(dY, X, γ, mean, var) -> dX, dγ, dβ: oneDNN's batch normalization backward
// (with scale and shift), dY in X's layout.
Status lowerBatchNormTrainingGrad(Builder& b, const Op& op) {
  if (!isF32(op)) return Status::error(str(where(op), ": f32 only"));
  auto flags = dnnl::normalization_flags::use_scale | dnnl::normalization_flags::use_shift;
  const float eps = op.getFloat("epsilon", 1e-5f);
  DLC_ASSIGN_OR_RETURN(int x, b.tensorOf(op.operand(1)));
  DLC_ASSIGN_OR_RETURN(int dys, b.tensorOf(op.operand(0)));
  DLC_ASSIGN_OR_RETURN(int dy, b.ensure(dys, b.md(x)));
  dnnl::batch_normalization_forward::primitive_desc fwd(
      dnnl::batch_normalization_forward::desc(dnnl::prop_kind::forward_training, b.md(x), eps, flags), Builder::baseAttr(), cpuEngine());
  dnnl::batch_normalization_backward::primitive_desc pd(
      dnnl::batch_normalization_backward::desc(dnnl::prop_kind::backward, b.md(x), b.md(x), eps, flags), Builder::baseAttr(),
      cpuEngine(), fwd);
  int dx = b.internal(pd.diff_src_desc());
  int dgamma = b.internal(plainDesc(dimsOf(op.result(1)->type()))), dbeta = b.internal(plainDesc(dimsOf(op.result(2)->type())));
  std::vector<std::pair<int, int>> args{{DNNL_ARG_SRC, x}, {DNNL_ARG_DIFF_DST, dy}, {DNNL_ARG_DIFF_SRC, dx},
                                        {DNNL_ARG_DIFF_SCALE, dgamma}, {DNNL_ARG_DIFF_SHIFT, dbeta}};
  for (auto [i, arg] : {std::pair<int, int>{2, DNNL_ARG_SCALE}, {3, DNNL_ARG_MEAN}, {4, DNNL_ARG_VARIANCE}}) {
    DLC_ASSIGN_OR_RETURN(int t, b.tensorOf(op.operand(i)));
    DLC_ASSIGN_OR_RETURN(int p, b.ensurePlain(t));
    args.push_back({arg, p});
  }
  // oneDNN 2.6 refuses to execute the backward pass with use_shift unless the shift is given too,
  // although the gradient does not read it: any buffer of its size serves (the forward's shift is
  // not among this op's operands).
  args.push_back({DNNL_ARG_SHIFT, b.internal(plainDesc(dimsOf(op.result(2)->type())))});
  b.exec(dnnl::batch_normalization_backward(pd), std::move(args), pd.scratchpad_desc(), op);
  b.bind(op.result(0), dx);
  b.bind(op.result(1), dgamma);
  b.bind(op.result(2), dbeta);
  return Status::success();
}

Status lowerConcat(Builder& b, const Op& op) {
  if (!isF32(op)) return Status::error(str(where(op), ": f32 only"));
  int rank = op.result()->type().shape.rank();
  int64_t axis = op.getInt("axis", 0);
  if (axis < 0) axis += rank;
  std::vector<int> srcs;
  std::vector<memory::desc> mds;
  bool same_layout = true;
  for (const Value* v : op.operands()) {
    DLC_ASSIGN_OR_RETURN(int t, b.tensorOf(v));
    srcs.push_back(t);
  }
  for (int t : srcs) same_layout &= b.md(t).data.format_kind == b.md(srcs[0]).data.format_kind;
  for (int& t : srcs) {
    if (!same_layout) {
      DLC_ASSIGN_OR_RETURN(t, b.ensurePlain(t));
    }
    mds.push_back(b.md(t));
  }
  dnnl::concat::primitive_desc pd(static_cast<int>(axis), mds, cpuEngine(), Builder::baseAttr());
  int y = b.internal(pd.dst_desc());
  std::vector<std::pair<int, int>> args{{DNNL_ARG_DST, y}};
  for (size_t i = 0; i < srcs.size(); ++i) args.push_back({DNNL_ARG_MULTIPLE_SRC + static_cast<int>(i), srcs[i]});
  b.exec(dnnl::concat(pd), std::move(args), pd.scratchpad_desc(), op);
  b.bind(op.result(), y);
  return Status::success();
}

// Reshape, Flatten, Squeeze, Unsqueeze, Identity: the plain bytes seen with the result's dims.
Status lowerView(Builder& b, const Op& op) {
  DLC_ASSIGN_OR_RETURN(int x0, b.tensorOf(op.operand(0)));
  DLC_ASSIGN_OR_RETURN(int x, b.ensurePlain(x0));
  b.bind(op.result(), b.view(x, plainDesc(dimsOf(op.result()->type()), b.md(x).data_type())));
  return Status::success();
}

Status lowerTranspose(Builder& b, const Op& op) {
  int rank = op.operand(0)->type().shape.rank();
  std::vector<int64_t> perm = op.getInts("perm");
  if (perm.empty())
    for (int i = rank - 1; i >= 0; --i) perm.push_back(i);
  std::vector<int> moved(static_cast<size_t>(rank));  // input axis perm[i] goes to position i
  for (int i = 0; i < rank; ++i) moved[static_cast<size_t>(perm[static_cast<size_t>(i)])] = i;
  DLC_ASSIGN_OR_RETURN(int x0, b.tensorOf(op.operand(0)));
  DLC_ASSIGN_OR_RETURN(int x, b.ensurePlain(x0));
  int v = b.view(x, b.md(x).permute_axes(moved));
  DLC_ASSIGN_OR_RETURN(int y, b.ensure(v, plainDesc(dimsOf(op.result()->type()), b.md(x).data_type())));
  b.bind(op.result(), y);
  return Status::success();
}

Status lowerSplit(Builder& b, const Op& op) {
  int rank = op.operand(0)->type().shape.rank();
  int64_t axis = op.getInt("axis", 0);
  if (axis < 0) axis += rank;
  DLC_ASSIGN_OR_RETURN(int x0, b.tensorOf(op.operand(0)));
  DLC_ASSIGN_OR_RETURN(int x, b.ensurePlain(x0));
  memory::dims offsets(static_cast<size_t>(rank), 0);
  for (int r = 0; r < op.numResults(); ++r) {
    memory::dims d = dimsOf(op.result(r)->type());
    int part = b.view(x, b.md(x).submemory_desc(d, offsets));
    DLC_ASSIGN_OR_RETURN(int y, b.ensure(part, plainDesc(d, b.md(x).data_type())));
    b.bind(op.result(r), y);
    offsets[static_cast<size_t>(axis)] += d[static_cast<size_t>(axis)];
  }
  return Status::success();
}

// Slice with constant starts (and axes), steps of 1: the input's sub-tensor as a view, copied into a
// plain tensor as Split's parts are (channel halves of ShuffleNet, torch's chunk and x[:, a:b]).
// The result's dims come from its (static) type; starts are clamped as ONNX does.
Status lowerSlice(Builder& b, const Op& op) {
  const int rank = op.operand(0)->type().shape.rank();
  auto ints = [&](int i) -> Expected<std::vector<int64_t>> {
    const Value* v = i < op.numOperands() ? op.operand(i) : nullptr;
    if (!v) return std::vector<int64_t>{};
    DLC_ASSIGN_OR_RETURN(int t, b.tensorOf(v));
    if (!b.isConstant(t) || (v->type().dtype != DType::I64 && v->type().dtype != DType::I32))
      return Status::error(str(where(op), ": operand ", i, " is not a constant integer tensor"));
    const size_t n = static_cast<size_t>(std::max<int64_t>(0, v->type().shape.numElements()));
    std::vector<int64_t> out(n);
    for (size_t k = 0; k < n; ++k)
      out[k] = v->type().dtype == DType::I64 ? static_cast<const int64_t*>(b.constantData(t))[k] : static_cast<const int32_t*>(b.constantData(t))[k];
    return out;
  };
  DLC_ASSIGN_OR_RETURN(std::vector<int64_t> starts, ints(1));
  DLC_ASSIGN_OR_RETURN(std::vector<int64_t> axes, ints(3));
  DLC_ASSIGN_OR_RETURN(std::vector<int64_t> steps, ints(4));
  if (axes.empty())
    for (size_t i = 0; i < starts.size(); ++i) axes.push_back(static_cast<int64_t>(i));
  if (axes.size() != starts.size() || (!steps.empty() && steps.size() != starts.size()))
    return Status::error(str(where(op), ": starts, axes and steps differ in length"));
  for (int64_t step : steps)
    if (step != 1) return Status::error(str(where(op), ": steps other than 1"));
  memory::dims x = dimsOf(op.operand(0)->type()), y = dimsOf(op.result()->type());
  if (static_cast<int>(x.size()) != rank || y.size() != x.size()) return Status::error(str(where(op), ": rank"));
  memory::dims offsets(static_cast<size_t>(rank), 0);
  for (size_t i = 0; i < axes.size(); ++i) {
    int64_t a = axes[i] < 0 ? axes[i] + rank : axes[i];
    if (a < 0 || a >= rank) return Status::error(str(where(op), ": axis ", axes[i]));
    const int64_t dim = x[static_cast<size_t>(a)];
    offsets[static_cast<size_t>(a)] = std::clamp<int64_t>(starts[i] < 0 ? starts[i] + dim : starts[i], 0, dim);
  }
  for (size_t d = 0; d < x.size(); ++d)
    if (offsets[d] + y[d] > x[d]) return Status::error(str(where(op), ": the result does not fit the input at its start"));
  DLC_ASSIGN_OR_RETURN(int x0, b.tensorOf(op.operand(0)));
  DLC_ASSIGN_OR_RETURN(int xs, b.ensurePlain(x0));
  int part = b.view(xs, b.md(xs).submemory_desc(y, offsets));
  DLC_ASSIGN_OR_RETURN(int out, b.ensure(part, plainDesc(y, b.md(xs).data_type())));
  b.bind(op.result(), out);
  return Status::success();
}

}  // namespace

Lowering loweringFor(OpKind kind) {
  switch (kind) {
    case OpKind::Conv:
    case OpKind::FusedConv: return lowerConvOp;
    case OpKind::MatMul:
    case OpKind::FusedMatMul: return lowerMatMulOp;
    case OpKind::Attention: return lowerAttentionOp;
    case OpKind::ConvTranspose: return lowerConvTransposeOp;
    case OpKind::QLinearConv: return lowerQLinearConvOp;
    case OpKind::QLinearMatMul: return lowerQLinearMatMulOp;
    case OpKind::QuantizeLinear: case OpKind::DequantizeLinear: return lowerQuantizeOp;
    case OpKind::MatMulInteger: return lowerMatMulIntegerOp;
    case OpKind::Cast: return lowerCastOp;
    case OpKind::DynamicQuantizeLinear: return lowerDynamicQuantizeOp;
    case OpKind::QLinearAdd: case OpKind::QLinearMul: return lowerQLinearBinaryOp;
    case OpKind::Relu: case OpKind::LeakyRelu: case OpKind::Elu: case OpKind::Sigmoid: case OpKind::Tanh:
    case OpKind::Exp: case OpKind::Sqrt: case OpKind::Abs: case OpKind::Neg:
    case OpKind::HardSwish: case OpKind::Gelu: case OpKind::Clip: return lowerEltwiseOp;
    case OpKind::Add: case OpKind::Mul: case OpKind::Sub: case OpKind::Div: case OpKind::Max:
    case OpKind::Min: return lowerBinaryOp;
    case OpKind::MaxPool: case OpKind::AveragePool: case OpKind::GlobalAveragePool:
    case OpKind::GlobalMaxPool: return lowerPool;
    case OpKind::MaxPoolGrad: case OpKind::AveragePoolGrad: return lowerPoolGrad;
    case OpKind::ActivationGrad: return lowerActivationGrad;
    case OpKind::ConvGradWeight: return lowerConvGradWeightOp;
    case OpKind::ReduceSum: case OpKind::ReduceMean: return lowerReduce;
    case OpKind::Softmax: return lowerSoftmax;
    case OpKind::LayerNormalization: return lowerLayerNorm;
    case OpKind::RMSNormalization: return lowerRmsNorm;
    case OpKind::BatchNormalization: return lowerBatchNorm;
    case OpKind::BatchNormTraining: return lowerBatchNormTraining;
    case OpKind::BatchNormTrainingGrad: return lowerBatchNormTrainingGrad;
    case OpKind::Concat: return lowerConcat;
    case OpKind::Reshape: case OpKind::Flatten: case OpKind::Squeeze: case OpKind::Unsqueeze:
    case OpKind::Identity: return lowerView;
    case OpKind::Transpose: return lowerTranspose;
    case OpKind::Split: return lowerSplit;
    case OpKind::Slice: return lowerSlice;
    default: return nullptr;
  }
}

}  // namespace dlc::onednn
