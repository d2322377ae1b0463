// Lowerings of the ops that become kernel library calls (convolution, matrix multiply, pooling,
// softmax, layer norm, attention), data movement (Transpose, Split, Concat through dlc_k_copy)
// and views (Reshape and friends share their operand's memory).
#include <algorithm>
#include <array>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <optional>
#include <unordered_map>

#include "backends/llvm_cpu/compile/emitter.h"
#include "backends/llvm_cpu/compile/sparse_choice.h"
#include "backends/llvm_cpu/kernels/kernels.h"
#include "ir/constant_value.h"

namespace dlc::llvm_cpu {
namespace {

bool isConstant(const Value* v) { return v && v->definingOp() && v->definingOp()->kind() == OpKind::Constant; }

// Every operand and result a static f32 tensor (absent optional operands aside).
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

llvm::Value* nullPtr(SegmentEmitter& e) { return llvm::ConstantPointerNull::get(e.b().getPtrTy()); }
llvm::Value* ptrOrNull(SegmentEmitter& e, const Value* v) { return v ? e.ptr(v) : nullPtr(e); }

// --- epilogues ---------------------------------------------------------------------------------
const std::unordered_map<std::string, int32_t>& activationCodes() {
  static const std::unordered_map<std::string, int32_t> kActs = {
      {"none", DLC_ACT_NONE},       {"Relu", DLC_ACT_RELU},           {"LeakyRelu", DLC_ACT_LEAKY_RELU},
      {"Clip", DLC_ACT_CLIP},       {"Sigmoid", DLC_ACT_SIGMOID},     {"HardSigmoid", DLC_ACT_HARD_SIGMOID},
      {"HardSwish", DLC_ACT_HARD_SWISH}, {"Silu", DLC_ACT_SILU},      {"Gelu", DLC_ACT_GELU},
      {"Tanh", DLC_ACT_TANH}};
  return kActs;
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

// --- multiplication by a pruned weight (sparse_choice.h decides where) ------------------------
// A pointwise convolution (1x1, stride 1, no padding, one group) is the sparse product per image:
// Y[b] [OC, HW] = W [OC, IC] X[b] [IC, HW], A and C transposed, W as [N, K].
std::optional<dlc_matmul_sparse_params> sparseConvParams(const dlc_conv_params& c, const Op& op) {
  if (c.kernel_h != 1 || c.kernel_w != 1 || c.stride_h != 1 || c.stride_w != 1 || c.pad_top || c.pad_left || c.groups != 1 ||
      c.out_h != c.in_h || c.out_w != c.in_w)
    return std::nullopt;
  const int64_t hw = c.out_h * c.out_w;
  std::optional<int64_t> nnz = sparseNonzeros(op, op.operand(1), sparseMaxDensity(hw));
  if (!nnz) return std::nullopt;
  dlc_matmul_sparse_params sp{};
  sp.batch = c.batch, sp.m = hw, sp.n = c.out_c, sp.k = c.in_c, sp.nnz = *nnz;
  sp.a_batch_stride = c.in_c * hw, sp.c_batch_stride = c.out_c * hw;
  sp.trans_b = 1, sp.a_trans = 1, sp.c_trans = 1, sp.ep = c.ep;
  return sp;
}

// Any other convolution of one group (stride up to 4 each way): the sparse convolution kernel over
// bands of output rows whose input rows, split by stride phase, fit in about 512 KB (half of Zen
// 4's L2), at least 8 grid rows of output per band where they fit.
std::optional<dlc_conv_sparse_params> sparseConvBandParams(const dlc_conv_params& c, const Op& op) {
  if (c.groups != 1 || c.stride_h > 4 || c.stride_w > 4 || c.stride_h < 1 || c.stride_w < 1) return std::nullopt;
  dlc_conv_sparse_params sp{};
  sp.conv = c;
  sp.grid_w = c.out_w + (c.kernel_w - 1) * c.dilation_w / c.stride_w;
  for (int32_t& slot : sp.phase_slot) slot = -1;
  for (int64_t kh = 0; kh < c.kernel_h; ++kh)
    for (int64_t kw = 0; kw < c.kernel_w; ++kw) {
      int32_t& slot = sp.phase_slot[kh * c.dilation_h % c.stride_h * c.stride_w + kw * c.dilation_w % c.stride_w];
      if (slot < 0) slot = sp.phases++;
    }
  const int64_t halo = (c.kernel_h - 1) * c.dilation_h / c.stride_h + 1;
  const int64_t per_row = sp.phases * c.in_c * sp.grid_w;  // floats per band row
  const int64_t budget_rows = (int64_t{128} << 10) / std::max<int64_t>(1, per_row) - halo;
  sp.band_rows = std::clamp<int64_t>(budget_rows, 1, c.out_h);
  sp.band_plane = (sp.band_rows + halo) * sp.grid_w;
  if (static_cast<double>(sp.phases) * static_cast<double>(c.in_c) * static_cast<double>(sp.band_plane) >= double(int64_t{1} << 30))
    return std::nullopt;  // offsets are int32
  std::optional<int64_t> nnz = sparseNonzeros(op, op.operand(1), sparseConvMaxDensity(c));
  if (!nnz) return std::nullopt;
  sp.nnz = *nnz;
  return sp;
}

Status emitSparseMatMul(SegmentEmitter& e, const Op& op, const dlc_matmul_sparse_params& sp) {
  explainSparse(op, sp.nnz, sp.k * sp.n);
  llvm::Constant* p = e.params(sp);
  llvm::Value* b = e.packedWeight("dlc_k_matmul_sparse_packed_bytes", "dlc_k_matmul_sparse_pack", p, op.operand(1));
  llvm::Value* scratch = e.scratch("dlc_k_matmul_sparse_scratch_bytes", p);
  e.b().CreateCall(e.kernel("dlc_k_matmul_sparse"), {p, e.ptr(op.operand(0)), b, ptrOrNull(e, op.operand(2)), ptrOrNull(e, op.operand(3)),
                                                     e.ptr(op.result()), e.call(), scratch});
  return Status::success();
}

// --- convolution -------------------------------------------------------------------------------
Expected<dlc_conv_params> convParams(const Op& op) {
  DLC_RETURN_IF_ERROR(checkF32(op));
  std::vector<int64_t> x = shapeOf(op.operand(0)), w = shapeOf(op.operand(1)), y = shapeOf(op.result());
  if (x.size() != 4 && x.size() != 3) return Status::error(str(where(op), ": only 1-D and 2-D convolutions"));
  if (!isConstant(op.operand(1))) return Status::error(str(where(op), ": the weights are not constant"));
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

Status checkConv(const Op& op) { return convParams(op).status(); }

Status emitConv(SegmentEmitter& e, const Op& op) {
  DLC_ASSIGN_OR_RETURN(dlc_conv_params c, convParams(op));
  if (std::optional<dlc_matmul_sparse_params> sp = sparseConvParams(c, op)) return emitSparseMatMul(e, op, *sp);
  if (std::optional<dlc_conv_sparse_params> sp = sparseConvBandParams(c, op)) {
    explainSparse(op, sp->nnz, c.out_c * c.in_c * c.kernel_h * c.kernel_w);
    llvm::Constant* p = e.params(*sp);
    llvm::Value* w = e.packedWeight("dlc_k_conv_sparse_packed_bytes", "dlc_k_conv_sparse_pack", p, op.operand(1));
    llvm::Value* scratch = e.scratch("dlc_k_conv_sparse_scratch_bytes", p);
    e.b().CreateCall(e.kernel("dlc_k_conv_sparse"), {p, e.ptr(op.operand(0)), w, ptrOrNull(e, op.operand(2)),
                                                     ptrOrNull(e, op.operand(3)), e.ptr(op.result()), e.call(), scratch});
    return Status::success();
  }
  llvm::Constant* p = e.params(c);
  llvm::Value* w = e.packedWeight("dlc_k_conv_packed_bytes", "dlc_k_conv_pack", p, op.operand(1));
  llvm::Value* scratch = e.scratch("dlc_k_conv_scratch_bytes", p);
  e.b().CreateCall(e.kernel("dlc_k_conv"), {p, e.ptr(op.operand(0)), w, ptrOrNull(e, op.operand(2)),
                                            ptrOrNull(e, op.operand(3)), e.ptr(op.result()), e.call(), scratch});
  return Status::success();
}

// --- matrix multiplication ----------------------------------------------------------------------
// One kernel call covers the batch when each operand's batch dims equal the result's or are all
// ones (stride 0); other numpy broadcasts ([2,3] against [1,3]) become one call per batch entry.
struct MatMulPlan {
  dlc_matmul_params p{};
  std::vector<std::array<int64_t, 4>> calls{{0, 0, 0, 0}};  // element offsets of A, B, bias, C per call
};

std::vector<int64_t> stridesOf(const std::vector<int64_t>& shape) {
  std::vector<int64_t> s(shape.size(), 1);
  for (size_t i = shape.size(); i-- > 1;) s[i - 1] = s[i] * shape[i];
  return s;
}

Expected<MatMulPlan> matmulPlan(const Op& op) {
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
  m.b_packed = b_shared && isConstant(op.operand(1));
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

Status checkMatMul(const Op& op) { return matmulPlan(op).status(); }

llvm::Value* offsetPtr(SegmentEmitter& e, llvm::Value* base, int64_t elements) {
  return elements ? e.b().CreateGEP(e.b().getFloatTy(), base, e.b().getInt64(elements)) : base;
}

// The sparse kernel for a MatMul by a shared constant weight, where it pays.
std::optional<dlc_matmul_sparse_params> sparseParams(const MatMulPlan& plan, const Op& op) {
  const dlc_matmul_params& m = plan.p;
  if (!m.b_packed || m.batch != 1 || m.trans_a || plan.calls.size() != 1) return std::nullopt;
  if (m.ep.bias_kind != DLC_BIAS_NONE && m.ep.bias_kind != DLC_BIAS_COL) return std::nullopt;
  if (numel(shapeOf(op.operand(1))) != m.k * m.n) return std::nullopt;
  std::optional<int64_t> nnz = sparseNonzeros(op, op.operand(1), sparseMaxDensity(m.m));
  if (!nnz) return std::nullopt;
  dlc_matmul_sparse_params sp{};
  sp.batch = 1, sp.m = m.m, sp.n = m.n, sp.k = m.k, sp.nnz = *nnz, sp.trans_b = m.trans_b, sp.ep = m.ep;
  return sp;
}

bool sparseKernelFor(const Op& op) {
  switch (op.kind()) {
    case OpKind::Conv:
    case OpKind::FusedConv: {
      Expected<dlc_conv_params> c = convParams(op);
      return c.ok() && (sparseConvParams(*c, op) || sparseConvBandParams(*c, op));
    }
    case OpKind::MatMul:
    case OpKind::FusedMatMul: {
      Expected<MatMulPlan> plan = matmulPlan(op);
      return plan.ok() && sparseParams(*plan, op);
    }
    default:
      return false;
  }
}

Status emitMatMul(SegmentEmitter& e, const Op& op) {
  DLC_ASSIGN_OR_RETURN(MatMulPlan plan, matmulPlan(op));
  if (std::optional<dlc_matmul_sparse_params> sp = sparseParams(plan, op)) return emitSparseMatMul(e, op, *sp);
  const dlc_matmul_params& m = plan.p;
  llvm::Constant* p = e.params(m);
  llvm::Value* b = m.b_packed ? e.packedWeight("dlc_k_matmul_packed_b_bytes", "dlc_k_matmul_pack_b", p, op.operand(1))
                              : e.ptr(op.operand(1));
  llvm::Value* scratch = e.scratch("dlc_k_matmul_scratch_bytes", p);
  for (const auto& [ao, bo, biaso, co] : plan.calls) {
    llvm::Value* bias = op.operand(2) ? offsetPtr(e, e.ptr(op.operand(2)), biaso) : nullPtr(e);
    llvm::Value* residual = op.operand(3) ? offsetPtr(e, e.ptr(op.operand(3)), co) : nullPtr(e);
    e.b().CreateCall(e.kernel("dlc_k_matmul"), {p, offsetPtr(e, e.ptr(op.operand(0)), ao), m.b_packed ? b : offsetPtr(e, b, bo),
                                                bias, residual, offsetPtr(e, e.ptr(op.result()), co), e.call(), scratch});
  }
  return Status::success();
}

// --- weight-only quantized matrix multiplication (MatMulNBits) -----------------------------------
bool staticTensorOf(const Value* v, DType dtype) {
  return v && v->type().isTensor() && v->type().dtype == dtype && v->type().shape.isStatic();
}

Expected<dlc_matmul_nbits_params> matmulNBitsParams(const Op& op) {
  if (!staticTensorOf(op.operand(0), DType::F32) || !staticTensorOf(op.result(), DType::F32))
    return Status::error(str(where(op), ": A and Y must be static f32 tensors"));
  if (!staticTensorOf(op.operand(1), DType::U8) || !staticTensorOf(op.operand(2), DType::F32))
    return Status::error(str(where(op), ": B must be u8 and scales f32"));
  if (op.numOperands() > 4 && op.operand(4)) return Status::error(str(where(op), ": g_idx"));
  if (!isConstant(op.operand(1))) return Status::error(str(where(op), ": B is not a constant (its codes are repacked at load)"));
  dlc_matmul_nbits_params p{};
  p.k = op.getInt("K", 0);
  p.n = op.getInt("N", 0);
  p.block = op.getInt("block_size", 0);
  p.bits = static_cast<int32_t>(op.getInt("bits", 4));
  if (p.bits != 4 && p.bits != 8) return Status::error(str(where(op), ": bits=", p.bits));
  p.m = numel(shapeOf(op.operand(0))) / std::max<int64_t>(1, p.k);
  if (op.numOperands() > 3 && op.operand(3)) {
    const Value* zp = op.operand(3);
    if (staticTensorOf(zp, DType::U8)) p.zp_kind = DLC_NBITS_ZP_PACKED;
    else if (staticTensorOf(zp, DType::F32)) p.zp_kind = DLC_NBITS_ZP_FLOAT;
    else return Status::error(str(where(op), ": zero points must be u8 or f32"));
  }
  if (op.numOperands() > 5 && op.operand(5)) {
    if (!staticTensorOf(op.operand(5), DType::F32) || numel(shapeOf(op.operand(5))) != p.n)
      return Status::error(str(where(op), ": bias must be f32 [N]"));
    p.has_bias = 1;
  }
  return p;
}

Status checkMatMulNBits(const Op& op) { return matmulNBitsParams(op).status(); }

Status emitMatMulNBits(SegmentEmitter& e, const Op& op) {
  DLC_ASSIGN_OR_RETURN(dlc_matmul_nbits_params m, matmulNBitsParams(op));
  llvm::Constant* p = e.params(m);
  llvm::Value* scratch = e.scratch("dlc_k_matmul_nbits_scratch_bytes", p);
  llvm::Value* zp = m.zp_kind != DLC_NBITS_ZP_DEFAULT ? e.ptr(op.operand(3)) : nullPtr(e);
  llvm::Value* bias = m.has_bias ? e.ptr(op.operand(5)) : nullPtr(e);
  llvm::Value* b = e.packedWeight("dlc_k_matmul_nbits_packed_bytes", "dlc_k_matmul_nbits_pack", p, op.operand(1));
  e.b().CreateCall(e.kernel("dlc_k_matmul_nbits"), {p, e.ptr(op.operand(0)), b, e.ptr(op.operand(2)), zp,
                                                    bias, e.ptr(op.result()), e.call(), scratch});
  return Status::success();
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

Status checkPool(const Op& op) { return poolParams(op).status(); }

Status emitPool(SegmentEmitter& e, const Op& op) {
  DLC_ASSIGN_OR_RETURN(dlc_pool_params p, poolParams(op));
  e.b().CreateCall(e.kernel("dlc_k_pool2d"), {e.params(p), e.ptr(op.operand(0)), e.ptr(op.result()), e.call()});
  return Status::success();
}

Status checkGlobalAvg(const Op& op) {
  DLC_RETURN_IF_ERROR(checkF32(op));
  if (shapeOf(op.operand(0)).size() < 3) return Status::error(str(where(op), ": rank"));
  return Status::success();
}

Status emitGlobalAvg(SegmentEmitter& e, const Op& op) {
  std::vector<int64_t> x = shapeOf(op.operand(0));
  int64_t rows = x[0] * x[1], len = numel(x) / rows;
  e.b().CreateCall(e.kernel("dlc_k_row_mean"), {e.b().getInt64(rows), e.b().getInt64(len), e.ptr(op.operand(0)),
                                                e.ptr(op.result()), e.call()});
  return Status::success();
}

// --- softmax, layer norm, attention --------------------------------------------------------------
int64_t normalizedAxis(const Op& op, int64_t rank) {
  int64_t a = op.getInt("axis", -1);
  return a < 0 ? a + rank : a;
}

Status checkSoftmax(const Op& op) {
  DLC_RETURN_IF_ERROR(checkF32(op));
  int64_t rank = static_cast<int64_t>(shapeOf(op.operand(0)).size()), axis = normalizedAxis(op, rank);
  if (axis < 0 || axis >= rank) return Status::error(str(where(op), ": axis"));
  return Status::success();
}

Status emitSoftmax(SegmentEmitter& e, const Op& op) {
  std::vector<int64_t> x = shapeOf(op.operand(0));
  size_t axis = static_cast<size_t>(normalizedAxis(op, static_cast<int64_t>(x.size())));
  dlc_softmax_params p{};
  p.outer = numel(std::vector<int64_t>(x.begin(), x.begin() + static_cast<std::ptrdiff_t>(axis)));
  p.len = x[axis];
  p.inner = numel(std::vector<int64_t>(x.begin() + static_cast<std::ptrdiff_t>(axis) + 1, x.end()));
  p.log = op.kind() == OpKind::LogSoftmax;
  e.b().CreateCall(e.kernel("dlc_k_softmax"), {e.params(p), e.ptr(op.operand(0)), e.ptr(op.result()), e.call()});
  return Status::success();
}

Status checkLayerNorm(const Op& op) {
  DLC_RETURN_IF_ERROR(checkF32(op));
  for (int r = 1; r < op.numResults(); ++r)
    if (op.result(r)->hasUses()) return Status::error(str(where(op), ": mean/inverse deviation outputs"));
  std::vector<int64_t> x = shapeOf(op.operand(0));
  int64_t axis = normalizedAxis(op, static_cast<int64_t>(x.size()));
  if (axis < 0 || axis >= static_cast<int64_t>(x.size())) return Status::error(str(where(op), ": axis"));
  int64_t len = numel(std::vector<int64_t>(x.begin() + axis, x.end()));
  for (int i = 1; i < op.numOperands(); ++i)
    if (op.operand(i) && numel(shapeOf(op.operand(i))) != len) return Status::error(str(where(op), ": broadcast scale/bias"));
  return Status::success();
}

Status emitLayerNorm(SegmentEmitter& e, const Op& op) {
  std::vector<int64_t> x = shapeOf(op.operand(0));
  int64_t axis = normalizedAxis(op, static_cast<int64_t>(x.size()));
  dlc_layernorm_params p{};
  p.len = numel(std::vector<int64_t>(x.begin() + axis, x.end()));
  p.rows = numel(x) / std::max<int64_t>(1, p.len);
  p.epsilon = op.getFloat("epsilon", 1e-5f);
  p.has_bias = op.operand(2) != nullptr;
  e.b().CreateCall(e.kernel("dlc_k_layernorm"), {e.params(p), e.ptr(op.operand(0)), e.ptr(op.operand(1)),
                                                 ptrOrNull(e, op.operand(2)), e.ptr(op.result()), e.call()});
  return Status::success();
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

Status checkAttention(const Op& op) { return attentionParams(op).status(); }

Status emitAttention(SegmentEmitter& e, const Op& op) {
  DLC_ASSIGN_OR_RETURN(dlc_attention_params a, attentionParams(op));
  llvm::Constant* p = e.params(a);
  llvm::Value* scratch = e.scratch("dlc_k_attention_scratch_bytes", p);
  e.b().CreateCall(e.kernel("dlc_k_attention"), {p, e.ptr(op.operand(0)), e.ptr(op.operand(1)), e.ptr(op.operand(2)),
                                                 ptrOrNull(e, op.operand(3)), e.ptr(op.result()), e.call(), scratch});
  return Status::success();
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

// dst (with `dims`, contiguous) = src viewed with `src_strides` from element `src_offset`.
void emitCopy(SegmentEmitter& e, const std::vector<int64_t>& dims, const std::vector<int64_t>& src_strides,
              const std::vector<int64_t>& dst_strides, llvm::Value* src, int64_t src_offset, llvm::Value* dst,
              int64_t dst_offset, DType dtype) {
  dlc_copy_params p{};
  p.rank = static_cast<int64_t>(dims.size());
  p.elem_bytes = static_cast<int64_t>(dtypeSize(dtype));
  for (size_t i = 0; i < dims.size(); ++i) {
    p.dims[i] = dims[i];
    p.src_stride[i] = src_strides[i];
    p.dst_stride[i] = dst_strides[i];
  }
  auto& b = e.b();
  llvm::Value* s = b.CreateGEP(b.getInt8Ty(), src, b.getInt64(src_offset * p.elem_bytes));
  llvm::Value* d = b.CreateGEP(b.getInt8Ty(), dst, b.getInt64(dst_offset * p.elem_bytes));
  b.CreateCall(e.kernel("dlc_k_copy"), {e.params(p), s, d, e.call()});
}

Status emitTranspose(SegmentEmitter& e, const Op& op) {
  std::vector<int64_t> x = shapeOf(op.operand(0)), y = shapeOf(op.result());
  std::vector<int64_t> perm = op.getInts("perm");
  if (perm.empty())
    for (size_t i = 0; i < x.size(); ++i) perm.push_back(static_cast<int64_t>(x.size() - 1 - i));
  std::vector<int64_t> xs = stridesOf(x), src(y.size());
  for (size_t i = 0; i < y.size(); ++i) src[i] = xs[static_cast<size_t>(perm[i])];
  emitCopy(e, y, src, stridesOf(y), e.ptr(op.operand(0)), 0, e.ptr(op.result()), 0, op.result()->type().dtype);
  return Status::success();
}

int64_t axisOf(const Op& op, size_t rank) {
  int64_t a = op.getInt("axis", 0);
  return a < 0 ? a + static_cast<int64_t>(rank) : a;
}

Status emitSplit(SegmentEmitter& e, const Op& op) {
  std::vector<int64_t> x = shapeOf(op.operand(0));
  size_t axis = static_cast<size_t>(axisOf(op, x.size()));
  std::vector<int64_t> xs = stridesOf(x);
  int64_t start = 0;
  for (int r = 0; r < op.numResults(); ++r) {
    std::vector<int64_t> y = shapeOf(op.result(r));
    emitCopy(e, y, xs, stridesOf(y), e.ptr(op.operand(0)), start * xs[axis], e.ptr(op.result(r)), 0,
             op.result(r)->type().dtype);
    start += y[axis];
  }
  return Status::success();
}

Status emitConcat(SegmentEmitter& e, const Op& op) {
  std::vector<int64_t> y = shapeOf(op.result());
  size_t axis = static_cast<size_t>(axisOf(op, y.size()));
  std::vector<int64_t> ys = stridesOf(y);
  int64_t start = 0;
  for (const Value* in : op.operands()) {
    std::vector<int64_t> x = shapeOf(in);
    if (numel(x) > 0)
      emitCopy(e, x, stridesOf(x), ys, e.ptr(in), 0, e.ptr(op.result()), start * ys[axis], in->type().dtype);
    start += x[axis];
  }
  return Status::success();
}

Status checkView(const Op& op) {
  const Type& in = op.operand(0)->type();
  const Type& out = op.result()->type();
  if (!in.isTensor() || !out.isTensor() || !in.shape.isStatic() || !out.shape.isStatic() || in.dtype != out.dtype ||
      in.dtype == DType::String)
    return Status::error(str(where(op), ": not a static numeric view"));
  return Status::success();
}

Status emitNothing(SegmentEmitter&, const Op&) { return Status::success(); }

// --- BatchNormalization (inference), Slice, ReduceMean -------------------------------------------
// BN(x) = (x - mean) / sqrt(var + eps) * scale + bias  ==>  x * a[c] + b[c] with
// a = scale / sqrt(var + eps), b = bias - mean * a, folded here from the constant statistics.
Expected<std::vector<float>> constantFloats(const Value* v) {
  if (!isConstant(v)) return Status::error("not constant");
  DLC_ASSIGN_OR_RETURN(Tensor t, constantOpValue(*v->definingOp()));
  if (t.dtype() != DType::F32) return Status::error("not f32");
  return std::vector<float>(t.data<float>(), t.data<float>() + t.numel());
}

Status checkBatchNorm(const Op& op) {
  DLC_RETURN_IF_ERROR(checkF32(op));
  if (op.getInt("training_mode", 0) != 0 || op.numResults() > 1) return Status::error(str(where(op), ": training mode"));
  std::vector<int64_t> x = shapeOf(op.operand(0));
  if (x.size() < 2) return Status::error(str(where(op), ": rank"));
  for (int i = 1; i < 5; ++i)
    if (!isConstant(op.operand(i)) || numel(shapeOf(op.operand(i))) != x[1])
      return Status::error(str(where(op), ": statistics are not constant per-channel vectors"));
  return Status::success();
}

Status emitBatchNorm(SegmentEmitter& e, const Op& op) {
  std::vector<int64_t> x = shapeOf(op.operand(0));
  DLC_ASSIGN_OR_RETURN(auto scale, constantFloats(op.operand(1)));
  DLC_ASSIGN_OR_RETURN(auto bias, constantFloats(op.operand(2)));
  DLC_ASSIGN_OR_RETURN(auto mean, constantFloats(op.operand(3)));
  DLC_ASSIGN_OR_RETURN(auto var, constantFloats(op.operand(4)));
  const double eps = op.getFloat("epsilon", 1e-5f);
  std::vector<float> a(scale.size()), b(scale.size());
  for (size_t c = 0; c < a.size(); ++c) {
    double k = scale[c] / std::sqrt(static_cast<double>(var[c]) + eps);
    a[c] = static_cast<float>(k);
    b[c] = static_cast<float>(bias[c] - mean[c] * k);
  }
  int64_t len = numel(x) / (x[0] * x[1]);
  auto& bld = e.b();
  bld.CreateCall(e.kernel("dlc_k_channel_affine"),
                 {bld.getInt64(x[0]), bld.getInt64(x[1]), bld.getInt64(len), e.ptr(op.operand(0)),
                  e.params(a.data(), a.size() * sizeof(float)), e.params(b.data(), b.size() * sizeof(float)),
                  e.ptr(op.result()), e.call()});
  return Status::success();
}

// Slice with constant starts/ends/axes/steps (ONNX clamping), positive steps: a strided copy.
Expected<std::pair<std::vector<int64_t>, std::vector<int64_t>>> sliceStartsSteps(const Op& op) {
  std::vector<int64_t> x = shapeOf(op.operand(0));
  auto ints = [&](int i) -> Expected<std::vector<int64_t>> {
    const Value* v = op.operand(i);
    if (!isConstant(v)) return Status::error(str(where(op), ": operand ", i, " is not constant"));
    DLC_ASSIGN_OR_RETURN(Tensor t, constantOpValue(*v->definingOp()));
    std::vector<int64_t> out;
    for (int64_t k = 0; k < t.numel(); ++k) out.push_back(static_cast<int64_t>(t.getDouble(k)));
    return out;
  };
  DLC_ASSIGN_OR_RETURN(auto starts, ints(1));
  DLC_ASSIGN_OR_RETURN(auto ends, ints(2));
  std::vector<int64_t> axes, steps;
  if (op.operand(3)) {
    DLC_ASSIGN_OR_RETURN(axes, ints(3));
  } else {
    for (size_t i = 0; i < starts.size(); ++i) axes.push_back(static_cast<int64_t>(i));
  }
  if (op.operand(4)) {
    DLC_ASSIGN_OR_RETURN(steps, ints(4));
  } else {
    steps.assign(starts.size(), 1);
  }
  if (axes.size() != starts.size() || ends.size() != starts.size() || steps.size() != starts.size())
    return Status::error(str(where(op), ": starts/ends/axes/steps lengths"));
  std::vector<int64_t> begin(x.size(), 0), step(x.size(), 1);
  for (size_t i = 0; i < axes.size(); ++i) {
    int64_t a = axes[i] < 0 ? axes[i] + static_cast<int64_t>(x.size()) : axes[i];
    if (a < 0 || a >= static_cast<int64_t>(x.size()) || steps[i] <= 0)
      return Status::error(str(where(op), ": axis or non-positive step"));
    int64_t s = starts[i] < 0 ? starts[i] + x[static_cast<size_t>(a)] : starts[i];
    begin[static_cast<size_t>(a)] = std::clamp<int64_t>(s, 0, x[static_cast<size_t>(a)]);
    step[static_cast<size_t>(a)] = steps[i];
  }
  return std::make_pair(begin, step);
}

Status checkSlice(const Op& op) {
  DLC_RETURN_IF_ERROR(checkMovement(op));
  return sliceStartsSteps(op).status();
}

Status emitSlice(SegmentEmitter& e, const Op& op) {
  DLC_ASSIGN_OR_RETURN(auto bs, sliceStartsSteps(op));
  std::vector<int64_t> x = shapeOf(op.operand(0)), y = shapeOf(op.result()), xs = stridesOf(x), src(x.size());
  int64_t offset = 0;
  for (size_t i = 0; i < x.size(); ++i) {
    src[i] = xs[i] * bs.second[i];
    offset += bs.first[i] * xs[i];
  }
  if (numel(y) > 0) emitCopy(e, y, src, stridesOf(y), e.ptr(op.operand(0)), offset, e.ptr(op.result()), 0, op.result()->type().dtype);
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

Status emitReduceMean(SegmentEmitter& e, const Op& op) {
  std::vector<int64_t> x = shapeOf(op.operand(0));
  int64_t rows = numel(shapeOf(op.result())), len = numel(x) / std::max<int64_t>(1, rows);
  e.b().CreateCall(e.kernel("dlc_k_row_mean"), {e.b().getInt64(rows), e.b().getInt64(len), e.ptr(op.operand(0)),
                                                e.ptr(op.result()), e.call()});
  return Status::success();
}

const std::unordered_map<OpKind, Lowering>& table() {
  static const std::unordered_map<OpKind, Lowering> t = {
      {OpKind::Conv, {checkConv, emitConv}},
      {OpKind::FusedConv, {checkConv, emitConv}},
      {OpKind::MatMul, {checkMatMul, emitMatMul}},
      {OpKind::FusedMatMul, {checkMatMul, emitMatMul}},
      {OpKind::MatMulNBits, {checkMatMulNBits, emitMatMulNBits}},
      {OpKind::MaxPool, {checkPool, emitPool}},
      {OpKind::AveragePool, {checkPool, emitPool}},
      {OpKind::GlobalAveragePool, {checkGlobalAvg, emitGlobalAvg}},
      {OpKind::Softmax, {checkSoftmax, emitSoftmax}},
      {OpKind::LogSoftmax, {checkSoftmax, emitSoftmax}},
      {OpKind::LayerNormalization, {checkLayerNorm, emitLayerNorm}},
      {OpKind::Attention, {checkAttention, emitAttention}},
      {OpKind::Transpose, {checkMovement, emitTranspose}},
      {OpKind::Split, {checkMovement, emitSplit}},
      {OpKind::Concat, {checkMovement, emitConcat}},
      {OpKind::BatchNormalization, {checkBatchNorm, emitBatchNorm}},
      {OpKind::Slice, {checkSlice, emitSlice}},
      {OpKind::ReduceMean, {checkReduceMean, emitReduceMean}},
      {OpKind::Reshape, {checkView, emitNothing, true}},
      {OpKind::Flatten, {checkView, emitNothing, true}},
      {OpKind::Squeeze, {checkView, emitNothing, true}},
      {OpKind::Unsqueeze, {checkView, emitNothing, true}},
  };
  return t;
}

}  // namespace

bool takesSparseKernel(const Op& op) { return sparseKernelFor(op); }

int32_t activationCode(const Op& op) {
  auto it = activationCodes().find(op.getString("activation", "none"));
  return it == activationCodes().end() ? DLC_ACT_NONE : it->second;
}

const Lowering* loweringFor(OpKind kind) {
  static const Lowering elementwise{checkElementwise, emitElementwise};
  auto it = table().find(kind);
  if (it != table().end()) return &it->second;
  if (kind == OpKind::FusedElementwise || (opInfo(kind).has(kElementwise) && !opInfo(kind).has(kSideEffects)))
    return &elementwise;
  return nullptr;
}

}  // namespace dlc::llvm_cpu
