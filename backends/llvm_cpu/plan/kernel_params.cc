// Kernel parameters from an op's static types (kernel_params.h).
#include "backends/llvm_cpu/plan/kernel_params.h"

#include <algorithm>
#include <cmath>
#include <unordered_map>

namespace dlc::llvm_cpu {

std::vector<int64_t> shapeOf(const Value* v) { return v->type().shape.staticSizes(); }

int64_t numel(const std::vector<int64_t>& shape) {
  int64_t n = 1;
  for (int64_t d : shape) n *= d;
  return n;
}

std::vector<int64_t> stridesOf(const std::vector<int64_t>& shape) {
  std::vector<int64_t> s(shape.size(), 1);
  for (size_t i = shape.size(); i-- > 1;) s[i - 1] = s[i] * shape[i];
  return s;
}

std::string where(const Op& op) { return str(op.name(), " '", op.location(), "'"); }

bool isConstantOp(const Value* v) { return v && v->definingOp() && v->definingOp()->kind() == OpKind::Constant; }

Status checkF32(const Op& op) {
  for (const Value* v : op.operands())
    if (v && (!v->type().isTensor() || v->type().dtype != DType::F32 || !v->type().shape.isStatic()))
      return Status::error(str(where(op), ": operand ", v->name(), " is not a static f32 tensor"));
  for (int r = 0; r < op.numResults(); ++r) {
    const Value* v = op.result(r);
    if (!v->type().isTensor() || v->type().dtype != DType::F32 || !v->type().shape.isStatic())
      return Status::error(str(where(op), ": result ", v->name(), " is not a static f32 tensor"));
  }
  return Status::success();
}

namespace {
const std::unordered_map<std::string, int32_t>& activationCodes() {
  static const std::unordered_map<std::string, int32_t> kActs = {
      {"none", DLC_ACT_NONE},       {"Relu", DLC_ACT_RELU},           {"LeakyRelu", DLC_ACT_LEAKY_RELU},
      {"Clip", DLC_ACT_CLIP},       {"Sigmoid", DLC_ACT_SIGMOID},     {"HardSigmoid", DLC_ACT_HARD_SIGMOID},
      {"HardSwish", DLC_ACT_HARD_SWISH}, {"Silu", DLC_ACT_SILU},      {"Gelu", DLC_ACT_GELU},
      {"Tanh", DLC_ACT_TANH}};
  return kActs;
}
}  // namespace

int32_t activationCode(const Op& op) {
  auto it = activationCodes().find(op.getString("activation", "none"));
  return it == activationCodes().end() ? DLC_ACT_NONE : it->second;
}

Expected<dlc_epilogue> epilogueOf(const Op& op) {
  dlc_epilogue ep{};
  ep.scale = 1.0f;
  if (op.kind() != OpKind::FusedConv && op.kind() != OpKind::FusedMatMul) return ep;
  auto it = activationCodes().find(op.getString("activation", "none"));
  if (it == activationCodes().end()) return Status::error(str(where(op), ": activation ", op.getString("activation")));
  ep.act = it->second;
  ep.alpha = op.getFloat("activation_alpha", 0.0f);
  ep.beta = op.getFloat("activation_beta", 0.0f);
  return ep;
}

int64_t normalizedAxis(const Op& op, int64_t rank) {
  int64_t a = op.getInt("axis", -1);
  return a < 0 ? a + rank : a;
}

int64_t axisOf(const Op& op, size_t rank) {
  int64_t a = op.getInt("axis", 0);
  return a < 0 ? a + static_cast<int64_t>(rank) : a;
}

// --- convolution -------------------------------------------------------------------------------
Expected<dlc_conv_params> convParams(const Op& op, const IsWeight& weight) {
  DLC_RETURN_IF_ERROR(checkF32(op));
  std::vector<int64_t> x = shapeOf(op.operand(0)), w = shapeOf(op.operand(1)), y = shapeOf(op.result());
  if (x.size() != 4 && x.size() != 3) return Status::error(str(where(op), ": only 1-D and 2-D convolutions"));
  if (!weight(op.operand(1))) return Status::error(str(where(op), ": the weights are not constant"));
  const bool one_d = x.size() == 3;
  if (one_d) {  // [N, C, W] as [N, C, 1, W]
    x.insert(x.begin() + 2, 1);
    w.insert(w.begin() + 2, 1);
    y.insert(y.begin() + 2, 1);
  }
  auto spatial = [&](const char* name, int64_t fallback) {
    std::vector<int64_t> v = op.getInts(name);
    if (v.empty()) v.assign(one_d ? 1 : 2, fallback);
    if (one_d) v.insert(v.begin(), fallback);
    return v;
  };
  std::vector<int64_t> strides = spatial("strides", 1), dilations = spatial("dilations", 1);
  if (strides.size() != 2 || dilations.size() != 2) return Status::error(str(where(op), ": strides/dilations"));
  int64_t pads[2] = {0, 0};
  std::string auto_pad = op.getString("auto_pad", "NOTSET");
  std::vector<int64_t> p = op.getInts("pads");
  for (int i = 0; i < 2; ++i) {
    int64_t span = (w[2 + i] - 1) * dilations[i] + 1;
    int64_t total = std::max<int64_t>(0, (y[2 + i] - 1) * strides[i] + span - x[2 + i]);
    if (auto_pad == "SAME_UPPER") pads[i] = total / 2;
    else if (auto_pad == "SAME_LOWER") pads[i] = total - total / 2;
    else if (auto_pad == "NOTSET" && !p.empty()) {
      if (p.size() != (one_d ? 2u : 4u)) return Status::error(str(where(op), ": pads has ", p.size(), " values"));
      pads[i] = one_d ? (i == 0 ? 0 : p[0]) : p[static_cast<size_t>(i)];
    }
  }
  dlc_conv_params c{};
  c.batch = x[0], c.in_c = x[1], c.in_h = x[2], c.in_w = x[3];
  c.out_c = y[1], c.out_h = y[2], c.out_w = y[3];
  c.kernel_h = w[2], c.kernel_w = w[3], c.stride_h = strides[0], c.stride_w = strides[1];
  c.pad_top = pads[0], c.pad_left = pads[1], c.dilation_h = dilations[0], c.dilation_w = dilations[1];
  c.groups = op.getInt("group", 1);
  if (c.groups < 1 || c.in_c % c.groups || c.out_c % c.groups || w[1] != c.in_c / c.groups || w[0] != c.out_c)
    return Status::error(str(where(op), ": inconsistent group/weight shape"));
  DLC_ASSIGN_OR_RETURN(c.ep, epilogueOf(op));
  const Value* bias = op.operand(2);
  if (bias) {
    if (numel(shapeOf(bias)) != c.out_c) return Status::error(str(where(op), ": bias is not one value per channel"));
    c.ep.bias_kind = DLC_BIAS_ROW;
  }
  if (const Value* r = op.operand(3)) {
    if (shapeOf(r) != shapeOf(op.result())) return Status::error(str(where(op), ": the residual does not have the output's shape"));
    c.ep.has_residual = 1;
  }
  return c;
}

// --- matrix multiplication ----------------------------------------------------------------------
Expected<MatMulPlan> matmulPlan(const Op& op, const IsWeight& weight) {
  DLC_RETURN_IF_ERROR(checkF32(op));
  std::vector<int64_t> a = shapeOf(op.operand(0)), b = shapeOf(op.operand(1)), y = shapeOf(op.result());
  if (a.size() < 2 || b.size() < 2) return Status::error(str(where(op), ": vector operands"));
  const bool ta = op.getInt("transA", 0) != 0, tb = op.getInt("transB", 0) != 0;
  MatMulPlan plan;
  dlc_matmul_params& m = plan.p;
  m.m = ta ? a[a.size() - 1] : a[a.size() - 2];
  m.k = ta ? a[a.size() - 2] : a[a.size() - 1];
  m.n = tb ? b[b.size() - 2] : b[b.size() - 1];
  if ((tb ? b[b.size() - 1] : b[b.size() - 2]) != m.k) return Status::error(str(where(op), ": inner dimensions differ"));
  m.trans_a = ta, m.trans_b = tb;
  std::vector<int64_t> yb(y.begin(), y.end() - 2);
  auto padded = [&](const std::vector<int64_t>& s) {  // batch dims right-aligned to the result's
    std::vector<int64_t> d(s.begin(), s.end() - 2);
    d.insert(d.begin(), yb.size() - std::min(yb.size(), d.size()), 1);
    return d;
  };
  std::vector<int64_t> ab = padded(a), bb = padded(b);
  if (ab.size() != yb.size() || bb.size() != yb.size()) return Status::error(str(where(op), ": batch rank"));
  const int64_t batch = numel(yb);
  const bool b_shared = numel(bb) == 1;
  auto uniform = [&](const std::vector<int64_t>& d) { return numel(d) == 1 || d == yb; };
  bool folded = false;
  if (b_shared && !ta && batch > 1) {  // one weight matrix: A's batch becomes rows
    m.batch = 1;
    m.m *= batch;
    folded = true;
  } else if (uniform(ab) && uniform(bb)) {
    m.batch = batch;
    m.a_batch_stride = numel(ab) == 1 ? 0 : m.m * m.k;
    m.b_batch_stride = numel(bb) == 1 ? 0 : m.k * m.n;
    m.c_batch_stride = m.m * m.n;
  } else {
    if (batch > 64) return Status::error(str(where(op), ": broadcast batch of ", batch, " entries"));
    m.batch = 1;
    plan.calls.clear();
    std::vector<int64_t> as = stridesOf(ab), bs = stridesOf(bb), ys = stridesOf(yb);
    for (int64_t e = 0; e < batch; ++e) {
      int64_t ai = 0, bi = 0;
      for (size_t d = 0; d < yb.size(); ++d) {
        int64_t idx = e / ys[d] % yb[d];
        ai += (ab[d] == 1 ? 0 : idx) * as[d];
        bi += (bb[d] == 1 ? 0 : idx) * bs[d];
      }
      plan.calls.push_back({ai * m.m * m.k, bi * m.k * m.n, e * m.m * m.n, e * m.m * m.n});
    }
  }
  m.b_packed = b_shared && weight(op.operand(1));
  DLC_ASSIGN_OR_RETURN(m.ep, epilogueOf(op));
  if (op.kind() == OpKind::FusedMatMul) m.ep.scale = op.getFloat("alpha", 1.0f);
  if (const Value* c = op.operand(2)) {
    std::vector<int64_t> cs = shapeOf(c);
    if (numel(cs) == m.n && !cs.empty() && cs.back() == m.n) {
      m.ep.bias_kind = DLC_BIAS_COL;
    } else if (cs == y) {
      m.ep.bias_kind = DLC_BIAS_FULL;
      m.bias_batch_stride = folded || m.batch == 1 ? 0 : m.m * m.n;
    } else if (!folded && numel(cs) == m.m && cs.size() >= 2 && cs.back() == 1 && cs[cs.size() - 2] == m.m) {
      m.ep.bias_kind = DLC_BIAS_ROW;
    } else {
      return Status::error(str(where(op), ": bias shape"));
    }
    if (m.ep.bias_kind != DLC_BIAS_FULL)
      for (auto& call : plan.calls) call[2] = 0;
  }
  if (const Value* r = op.operand(3)) {
    if (shapeOf(r) != y) return Status::error(str(where(op), ": the residual does not have the output's shape"));
    m.ep.has_residual = 1;
  }
  return plan;
}

// --- pooling -------------------------------------------------------------------------------------
Expected<dlc_pool_params> poolParams(const Op& op) {
  DLC_RETURN_IF_ERROR(checkF32(op));
  if (op.numResults() > 1 && op.result(1)->hasUses()) return Status::error(str(where(op), ": MaxPool indices"));
  std::vector<int64_t> x = shapeOf(op.operand(0)), y = shapeOf(op.result());
  if (x.size() != 4) return Status::error(str(where(op), ": only 2-D pooling"));
  if (op.getInt("storage_order", 0) != 0) return Status::error(str(where(op), ": storage_order"));
  std::vector<int64_t> k = op.getInts("kernel_shape"), s = op.getInts("strides"), d = op.getInts("dilations"),
                       pads = op.getInts("pads");
  if (s.empty()) s = {1, 1};
  if (d.empty()) d = {1, 1};
  if (pads.empty()) pads = {0, 0, 0, 0};
  if (k.size() != 2 || s.size() != 2 || d.size() != 2 || pads.size() != 4) return Status::error(str(where(op), ": window"));
  std::string auto_pad = op.getString("auto_pad", "NOTSET");
  if (auto_pad != "NOTSET" && auto_pad != "VALID") {
    for (int i = 0; i < 2; ++i) {
      int64_t total = std::max<int64_t>(0, (y[2 + i] - 1) * s[i] + (k[i] - 1) * d[i] + 1 - x[2 + i]);
      pads[i] = auto_pad == "SAME_UPPER" ? total / 2 : total - total / 2;
    }
  } else if (auto_pad == "VALID") {
    pads = {0, 0, 0, 0};
  }
  dlc_pool_params p{};
  p.batch = x[0], p.channels = x[1], p.in_h = x[2], p.in_w = x[3], p.out_h = y[2], p.out_w = y[3];
  p.kernel_h = k[0], p.kernel_w = k[1], p.stride_h = s[0], p.stride_w = s[1], p.pad_top = pads[0], p.pad_left = pads[1];
  p.dilation_h = d[0], p.dilation_w = d[1];
  p.kind = op.kind() == OpKind::MaxPool ? DLC_POOL_MAX : DLC_POOL_AVG;
  p.count_include_pad = static_cast<int32_t>(op.getInt("count_include_pad", 0));
  // With ceil_mode a window may reach past the end padding; the reference then counts only up to
  // it, which the kernel's divisor does not model.
  if (p.count_include_pad && op.getInt("ceil_mode", 0)) return Status::error(str(where(op), ": count_include_pad with ceil_mode"));
  return p;
}

Status checkGlobalAvg(const Op& op) {
  DLC_RETURN_IF_ERROR(checkF32(op));
  if (shapeOf(op.operand(0)).size() < 3) return Status::error(str(where(op), ": rank"));
  return Status::success();
}

// ReduceMean over trailing axes (global pooling written as ReduceMean): a row mean.
Status checkReduceMean(const Op& op) {
  DLC_RETURN_IF_ERROR(checkF32(op));
  std::vector<int64_t> x = shapeOf(op.operand(0)), axes = op.getInts("axes");
  if (axes.empty()) return Status::error(str(where(op), ": all axes"));
  std::vector<bool> reduced(x.size(), false);
  for (int64_t a : axes) {
    int64_t n = a < 0 ? a + static_cast<int64_t>(x.size()) : a;
    if (n < 0 || n >= static_cast<int64_t>(x.size())) return Status::error(str(where(op), ": axis"));
    reduced[static_cast<size_t>(n)] = true;
  }
  size_t first = x.size() - axes.size();
  for (size_t i = 0; i < x.size(); ++i)
    if (reduced[i] != (i >= first)) return Status::error(str(where(op), ": axes other than the trailing ones"));
  return Status::success();
}

Status checkBatchNorm(const Op& op) {
  DLC_RETURN_IF_ERROR(checkF32(op));
  if (op.getInt("training_mode", 0) != 0 || op.numResults() > 1) return Status::error(str(where(op), ": training mode"));
  std::vector<int64_t> x = shapeOf(op.operand(0));
  if (x.size() < 2) return Status::error(str(where(op), ": rank"));
  for (int i = 1; i < 5; ++i)
    if (!isConstantOp(op.operand(i)) || numel(shapeOf(op.operand(i))) != x[1])
      return Status::error(str(where(op), ": statistics are not constant per-channel vectors"));
  return Status::success();
}

// --- softmax, layer norm, attention --------------------------------------------------------------
Expected<dlc_softmax_params> softmaxParams(const Op& op) {
  DLC_RETURN_IF_ERROR(checkF32(op));
  std::vector<int64_t> x = shapeOf(op.operand(0));
  int64_t rank = static_cast<int64_t>(x.size()), axis = normalizedAxis(op, rank);
  if (axis < 0 || axis >= rank) return Status::error(str(where(op), ": axis"));
  dlc_softmax_params p{};
  p.outer = numel(std::vector<int64_t>(x.begin(), x.begin() + axis));
  p.len = x[static_cast<size_t>(axis)];
  p.inner = numel(std::vector<int64_t>(x.begin() + axis + 1, x.end()));
  p.log = op.kind() == OpKind::LogSoftmax;
  return p;
}

Expected<dlc_layernorm_params> layerNormParams(const Op& op) {
  DLC_RETURN_IF_ERROR(checkF32(op));
  for (int r = 1; r < op.numResults(); ++r)
    if (op.result(r)->hasUses()) return Status::error(str(where(op), ": mean/inverse deviation outputs"));
  std::vector<int64_t> x = shapeOf(op.operand(0));
  int64_t axis = normalizedAxis(op, static_cast<int64_t>(x.size()));
  if (axis < 0 || axis >= static_cast<int64_t>(x.size())) return Status::error(str(where(op), ": axis"));
  dlc_layernorm_params p{};
  p.len = numel(std::vector<int64_t>(x.begin() + axis, x.end()));
  for (int i = 1; i < op.numOperands(); ++i)
    if (op.operand(i) && numel(shapeOf(op.operand(i))) != p.len) return Status::error(str(where(op), ": broadcast scale/bias"));
  p.rows = numel(x) / std::max<int64_t>(1, p.len);
  p.epsilon = op.getFloat("epsilon", 1e-5f);
  p.rms = op.kind() == OpKind::RMSNormalization;
  p.has_bias = !p.rms && op.numOperands() > 2 && op.operand(2) != nullptr;
  return p;
}

Expected<dlc_attention_params> attentionParams(const Op& op) {
  DLC_RETURN_IF_ERROR(checkF32(op));
  std::vector<int64_t> q = shapeOf(op.operand(0)), k = shapeOf(op.operand(1)), v = shapeOf(op.operand(2));
  if (q.size() != 3 || k.size() != 3 || v.size() != 3) return Status::error(str(where(op), ": rank"));
  dlc_attention_params p{};
  p.heads = op.getInt("num_heads", 1);
  if (p.heads < 1 || q[2] % p.heads || v[2] % p.heads) return Status::error(str(where(op), ": heads"));
  p.batch = q[0], p.s = q[1], p.t = k[1], p.d = q[2] / p.heads, p.dv = v[2] / p.heads;
  p.scale = op.getFloat("scale", 0.0f);
  if (p.scale == 0.0f) p.scale = 1.0f / std::sqrt(static_cast<float>(p.d));
  if (const Value* mask = op.operand(3)) {
    std::vector<int64_t> m = shapeOf(mask), full = {p.batch, p.heads, p.s, p.t};
    if (m.size() > 4) return Status::error(str(where(op), ": mask rank"));
    m.insert(m.begin(), 4 - m.size(), 1);
    int64_t stride = 1;
    for (int i = 3; i >= 0; --i) {
      if (m[static_cast<size_t>(i)] != 1 && m[static_cast<size_t>(i)] != full[static_cast<size_t>(i)])
        return Status::error(str(where(op), ": mask shape"));
      p.mask_stride[i] = m[static_cast<size_t>(i)] == 1 ? 0 : stride;
      stride *= m[static_cast<size_t>(i)];
    }
    p.has_mask = 1;
  }
  return p;
}

// --- data movement -------------------------------------------------------------------------------
Status checkMovement(const Op& op) {
  for (const Value* v : op.operands())
    if (v && (!v->type().isTensor() || !v->type().shape.isStatic() || v->type().dtype == DType::String))
      return Status::error(str(where(op), ": operand is not a static numeric tensor"));
  for (int r = 0; r < op.numResults(); ++r) {
    const Type& t = op.result(r)->type();
    if (!t.isTensor() || !t.shape.isStatic() || t.shape.rank() > 8 || t.dtype != op.operand(0)->type().dtype)
      return Status::error(str(where(op), ": result is not a static tensor of rank <= 8"));
    size_t bytes = dtypeSize(t.dtype);
    if (bytes != 1 && bytes != 2 && bytes != 4 && bytes != 8) return Status::error(str(where(op), ": element size"));
  }
  if (op.kind() == OpKind::Split && op.getInt("num_outputs", 0) < 0) return Status::error(str(where(op), ": num_outputs"));
  return Status::success();
}

dlc_copy_params copyParams(const std::vector<int64_t>& dims, const std::vector<int64_t>& src_strides,
                           const std::vector<int64_t>& dst_strides, DType dtype) {
  dlc_copy_params p{};
  p.rank = static_cast<int64_t>(dims.size());
  p.elem_bytes = static_cast<int64_t>(dtypeSize(dtype));
  for (size_t i = 0; i < dims.size(); ++i) {
    p.dims[i] = dims[i];
    p.src_stride[i] = src_strides[i];
    p.dst_stride[i] = dst_strides[i];
  }
  return p;
}

Expected<std::vector<CopyCall>> copyCalls(const Op& op) {
  DLC_RETURN_IF_ERROR(checkMovement(op));
  std::vector<CopyCall> calls;
  const DType dtype = op.result()->type().dtype;
  switch (op.kind()) {
    case OpKind::Transpose: {
      std::vector<int64_t> x = shapeOf(op.operand(0)), y = shapeOf(op.result());
      std::vector<int64_t> perm = op.getInts("perm");
      if (perm.empty())
        for (size_t i = 0; i < x.size(); ++i) perm.push_back(static_cast<int64_t>(x.size() - 1 - i));
      if (perm.size() != y.size()) return Status::error(str(where(op), ": perm"));
      std::vector<int64_t> xs = stridesOf(x), src(y.size());
      for (size_t i = 0; i < y.size(); ++i) src[i] = xs[static_cast<size_t>(perm[i])];
      calls.push_back({copyParams(y, src, stridesOf(y), dtype), 0, 0, 0, 0});
      return calls;
    }
    case OpKind::Split: {
      std::vector<int64_t> x = shapeOf(op.operand(0));
      size_t axis = static_cast<size_t>(axisOf(op, x.size()));
      std::vector<int64_t> xs = stridesOf(x);
      int64_t start = 0;
      for (int r = 0; r < op.numResults(); ++r) {
        std::vector<int64_t> y = shapeOf(op.result(r));
        calls.push_back({copyParams(y, xs, stridesOf(y), dtype), start * xs[axis], 0, 0, r});
        start += y[axis];
      }
      return calls;
    }
    case OpKind::Concat: {
      std::vector<int64_t> y = shapeOf(op.result());
      size_t axis = static_cast<size_t>(axisOf(op, y.size()));
      std::vector<int64_t> ys = stridesOf(y);
      int64_t start = 0;
      for (int i = 0; i < op.numOperands(); ++i) {
        std::vector<int64_t> x = shapeOf(op.operand(i));
        calls.push_back({copyParams(x, stridesOf(x), ys, dtype), 0, start * ys[axis], i, 0});
        start += x[axis];
      }
      return calls;
    }
    default:
      return Status::error(str(where(op), ": not a copy"));
  }
}

bool isViewKind(OpKind kind) {
  return kind == OpKind::Reshape || kind == OpKind::Flatten || kind == OpKind::Squeeze || kind == OpKind::Unsqueeze;
}

Status checkView(const Op& op) {
  const Type& in = op.operand(0)->type();
  const Type& out = op.result()->type();
  if (!in.isTensor() || !out.isTensor() || !in.shape.isStatic() || !out.shape.isStatic() || in.dtype != out.dtype ||
      in.dtype == DType::String)
    return Status::error(str(where(op), ": not a static numeric view"));
  return Status::success();
}

}  // namespace dlc::llvm_cpu
