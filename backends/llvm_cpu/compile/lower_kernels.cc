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

bool isConstant(const Value* v) { return isConstantOp(v); }

llvm::Value* nullPtr(SegmentEmitter& e) { return llvm::ConstantPointerNull::get(e.b().getPtrTy()); }
llvm::Value* ptrOrNull(SegmentEmitter& e, const Value* v) { return v ? e.ptr(v) : nullPtr(e); }

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
Status checkPool(const Op& op) { return poolParams(op).status(); }

Status emitPool(SegmentEmitter& e, const Op& op) {
  DLC_ASSIGN_OR_RETURN(dlc_pool_params p, poolParams(op));
  e.b().CreateCall(e.kernel("dlc_k_pool2d"), {e.params(p), e.ptr(op.operand(0)), e.ptr(op.result()), e.call()});
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
Status checkSoftmax(const Op& op) { return softmaxParams(op).status(); }

Status emitSoftmax(SegmentEmitter& e, const Op& op) {
  DLC_ASSIGN_OR_RETURN(dlc_softmax_params p, softmaxParams(op));
  e.b().CreateCall(e.kernel("dlc_k_softmax"), {e.params(p), e.ptr(op.operand(0)), e.ptr(op.result()), e.call()});
  return Status::success();
}

Status checkLayerNorm(const Op& op) { return layerNormParams(op).status(); }

Status emitLayerNorm(SegmentEmitter& e, const Op& op) {
  DLC_ASSIGN_OR_RETURN(dlc_layernorm_params p, layerNormParams(op));
  e.b().CreateCall(e.kernel("dlc_k_layernorm"), {e.params(p), e.ptr(op.operand(0)), e.ptr(op.operand(1)),
                                                 ptrOrNull(e, op.numOperands() > 2 ? op.operand(2) : nullptr), e.ptr(op.result()), e.call()});
  return Status::success();
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
void emitCopy(SegmentEmitter& e, const dlc_copy_params& p, llvm::Value* src, int64_t src_offset, llvm::Value* dst, int64_t dst_offset) {
  auto& b = e.b();
  llvm::Value* s = b.CreateGEP(b.getInt8Ty(), src, b.getInt64(src_offset * p.elem_bytes));
  llvm::Value* d = b.CreateGEP(b.getInt8Ty(), dst, b.getInt64(dst_offset * p.elem_bytes));
  b.CreateCall(e.kernel("dlc_k_copy"), {e.params(p), s, d, e.call()});
}

// Transpose, Split, Concat: one strided copy per part (empty inputs of a Concat copy nothing).
Status checkCopies(const Op& op) { return copyCalls(op).status(); }

Status emitCopies(SegmentEmitter& e, const Op& op) {
  DLC_ASSIGN_OR_RETURN(std::vector<CopyCall> calls, copyCalls(op));
  for (const CopyCall& c : calls) {
    int64_t elements = 1;
    for (int64_t d = 0; d < c.p.rank; ++d) elements *= c.p.dims[d];
    if (elements > 0) emitCopy(e, c.p, e.ptr(op.operand(c.source)), c.src_offset, e.ptr(op.result(c.result)), c.dst_offset);
  }
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

// (a, b) per channel.
Expected<std::pair<std::vector<float>, std::vector<float>>> foldedBatchNorm(const Op& op) {
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
  return std::make_pair(a, b);
}

Status emitBatchNorm(SegmentEmitter& e, const Op& op) {
  std::vector<int64_t> x = shapeOf(op.operand(0));
  DLC_ASSIGN_OR_RETURN(auto folded, foldedBatchNorm(op));
  int64_t len = numel(x) / (x[0] * x[1]);
  auto& bld = e.b();
  bld.CreateCall(e.kernel("dlc_k_channel_affine"),
                 {bld.getInt64(x[0]), bld.getInt64(x[1]), bld.getInt64(len), e.ptr(op.operand(0)),
                  e.params(folded.first.data(), folded.first.size() * sizeof(float)),
                  e.params(folded.second.data(), folded.second.size() * sizeof(float)), e.ptr(op.result()), e.call()});
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
  if (numel(y) > 0) emitCopy(e, copyParams(y, src, stridesOf(y), op.result()->type().dtype), e.ptr(op.operand(0)), offset, e.ptr(op.result()), 0);
  return Status::success();
}

Status emitReduceMean(SegmentEmitter& e, const Op& op) {
  std::vector<int64_t> x = shapeOf(op.operand(0));
  int64_t rows = numel(shapeOf(op.result())), len = numel(x) / std::max<int64_t>(1, rows);
  e.b().CreateCall(e.kernel("dlc_k_row_mean"), {e.b().getInt64(rows), e.b().getInt64(len), e.ptr(op.operand(0)),
                                                e.ptr(op.result()), e.call()});
  return Status::success();
}

// --- symbolic sizes: the same kernels, their parameters read from the run table -------------------
// (segment_plan.cc's planOpBlocks writes the blocks these read, in this order.) Weights are packed
// at load with the parameters at trial sizes: the packed layouts depend on the weight's shape only.
Status emitConvSymbolic(SegmentEmitter& e, const Op& op, const OpBlocks& blocks) {
  llvm::Value* w = e.packedWeight("dlc_k_conv_packed_bytes", "dlc_k_conv_pack", e.params(blocks.trial<dlc_conv_params>(0)), op.operand(1));
  llvm::Value* scratch = e.scratchFromTable("dlc_k_conv_scratch_bytes", blocks.index(0));
  e.b().CreateCall(e.kernel("dlc_k_conv"), {blocks.ptr(0), e.ptr(op.operand(0)), w, ptrOrNull(e, op.operand(2)),
                                            ptrOrNull(e, op.operand(3)), e.ptr(op.result()), e.call(), scratch});
  return Status::success();
}

Status emitMatMulSymbolic(SegmentEmitter& e, const Op& op, const OpBlocks& blocks) {
  const dlc_matmul_params& m = blocks.trial<dlc_matmul_params>(0);
  llvm::Value* b = m.b_packed ? e.packedWeight("dlc_k_matmul_packed_b_bytes", "dlc_k_matmul_pack_b", e.params(m), op.operand(1))
                              : e.ptr(op.operand(1));
  llvm::Value* scratch = e.scratchFromTable("dlc_k_matmul_scratch_bytes", blocks.index(0));
  e.b().CreateCall(e.kernel("dlc_k_matmul"), {blocks.ptr(0), e.ptr(op.operand(0)), b, ptrOrNull(e, op.operand(2)),
                                              ptrOrNull(e, op.operand(3)), e.ptr(op.result()), e.call(), scratch});
  return Status::success();
}

Status emitPoolSymbolic(SegmentEmitter& e, const Op& op, const OpBlocks& blocks) {
  e.b().CreateCall(e.kernel("dlc_k_pool2d"), {blocks.ptr(0), e.ptr(op.operand(0)), e.ptr(op.result()), e.call()});
  return Status::success();
}

Status emitRowMeanSymbolic(SegmentEmitter& e, const Op& op, const OpBlocks& blocks) {
  e.b().CreateCall(e.kernel("dlc_k_row_mean"), {blocks.loadInt(0, 0), blocks.loadInt(0, 1), e.ptr(op.operand(0)), e.ptr(op.result()), e.call()});
  return Status::success();
}

Status emitSoftmaxSymbolic(SegmentEmitter& e, const Op& op, const OpBlocks& blocks) {
  e.b().CreateCall(e.kernel("dlc_k_softmax"), {blocks.ptr(0), e.ptr(op.operand(0)), e.ptr(op.result()), e.call()});
  return Status::success();
}

Status emitLayerNormSymbolic(SegmentEmitter& e, const Op& op, const OpBlocks& blocks) {
  e.b().CreateCall(e.kernel("dlc_k_layernorm"), {blocks.ptr(0), e.ptr(op.operand(0)), e.ptr(op.operand(1)),
                                                 ptrOrNull(e, op.numOperands() > 2 ? op.operand(2) : nullptr), e.ptr(op.result()), e.call()});
  return Status::success();
}

Status emitAttentionSymbolic(SegmentEmitter& e, const Op& op, const OpBlocks& blocks) {
  llvm::Value* scratch = e.scratchFromTable("dlc_k_attention_scratch_bytes", blocks.index(0));
  e.b().CreateCall(e.kernel("dlc_k_attention"), {blocks.ptr(0), e.ptr(op.operand(0)), e.ptr(op.operand(1)), e.ptr(op.operand(2)),
                                                 ptrOrNull(e, op.operand(3)), e.ptr(op.result()), e.call(), scratch});
  return Status::success();
}

Status emitBatchNormSymbolic(SegmentEmitter& e, const Op& op, const OpBlocks& blocks) {
  DLC_ASSIGN_OR_RETURN(auto folded, foldedBatchNorm(op));
  auto& bld = e.b();
  bld.CreateCall(e.kernel("dlc_k_channel_affine"),
                 {blocks.loadInt(0, 0), blocks.loadInt(0, 1), blocks.loadInt(0, 2), e.ptr(op.operand(0)),
                  e.params(folded.first.data(), folded.first.size() * sizeof(float)),
                  e.params(folded.second.data(), folded.second.size() * sizeof(float)), e.ptr(op.result()), e.call()});
  return Status::success();
}

// Block i: {dlc_copy_params, source offset in bytes, destination offset in bytes} of copy i.
Status emitCopiesSymbolic(SegmentEmitter& e, const Op& op, const OpBlocks& blocks) {
  auto& b = e.b();
  const size_t words = sizeof(dlc_copy_params) / sizeof(int64_t);
  const int parts = op.kind() == OpKind::Split ? op.numResults() : op.kind() == OpKind::Concat ? op.numOperands() : 1;
  for (int i = 0; i < parts; ++i) {
    const Value* src = op.kind() == OpKind::Concat ? op.operand(i) : op.operand(0);
    const Value* dst = op.kind() == OpKind::Split ? op.result(i) : op.result();
    llvm::Value* s = b.CreateGEP(b.getInt8Ty(), e.ptr(src), blocks.loadInt(static_cast<size_t>(i), words));
    llvm::Value* d = b.CreateGEP(b.getInt8Ty(), e.ptr(dst), blocks.loadInt(static_cast<size_t>(i), words + 1));
    b.CreateCall(e.kernel("dlc_k_copy"), {blocks.ptr(static_cast<size_t>(i)), s, d, e.call()});
  }
  return Status::success();
}

Status emitNothingSymbolic(SegmentEmitter&, const Op&, const OpBlocks&) { return Status::success(); }

const std::unordered_map<OpKind, Lowering>& table() {
  static const std::unordered_map<OpKind, Lowering> t = {
      {OpKind::Conv, {checkConv, emitConv, false, emitConvSymbolic}},
      {OpKind::FusedConv, {checkConv, emitConv, false, emitConvSymbolic}},
      {OpKind::MatMul, {checkMatMul, emitMatMul, false, emitMatMulSymbolic}},
      {OpKind::FusedMatMul, {checkMatMul, emitMatMul, false, emitMatMulSymbolic}},
      {OpKind::MatMulNBits, {checkMatMulNBits, emitMatMulNBits}},
      {OpKind::MaxPool, {checkPool, emitPool, false, emitPoolSymbolic}},
      {OpKind::AveragePool, {checkPool, emitPool, false, emitPoolSymbolic}},
      {OpKind::GlobalAveragePool, {checkGlobalAvg, emitGlobalAvg, false, emitRowMeanSymbolic}},
      {OpKind::Softmax, {checkSoftmax, emitSoftmax, false, emitSoftmaxSymbolic}},
      {OpKind::LogSoftmax, {checkSoftmax, emitSoftmax, false, emitSoftmaxSymbolic}},
      {OpKind::LayerNormalization, {checkLayerNorm, emitLayerNorm, false, emitLayerNormSymbolic}},
      {OpKind::RMSNormalization, {checkLayerNorm, emitLayerNorm, false, emitLayerNormSymbolic}},
      {OpKind::Attention, {checkAttention, emitAttention, false, emitAttentionSymbolic}},
      {OpKind::Transpose, {checkCopies, emitCopies, false, emitCopiesSymbolic}},
      {OpKind::Split, {checkCopies, emitCopies, false, emitCopiesSymbolic}},
      {OpKind::Concat, {checkCopies, emitCopies, false, emitCopiesSymbolic}},
      {OpKind::BatchNormalization, {checkBatchNorm, emitBatchNorm, false, emitBatchNormSymbolic}},
      {OpKind::Slice, {checkSlice, emitSlice}},
      {OpKind::ReduceMean, {checkReduceMean, emitReduceMean, false, emitRowMeanSymbolic}},
      {OpKind::Reshape, {checkView, emitNothing, true, emitNothingSymbolic}},
      {OpKind::Flatten, {checkView, emitNothing, true, emitNothingSymbolic}},
      {OpKind::Squeeze, {checkView, emitNothing, true, emitNothingSymbolic}},
      {OpKind::Unsqueeze, {checkView, emitNothing, true, emitNothingSymbolic}},
  };
  return t;
}

}  // namespace

bool takesSparseKernel(const Op& op) { return sparseKernelFor(op); }

const Lowering* loweringFor(OpKind kind) {
  static const Lowering elementwise{checkElementwise, emitElementwise, false, emitElementwiseSymbolic};
  auto it = table().find(kind);
  if (it != table().end()) return &it->second;
  if (kind == OpKind::FusedElementwise || (opInfo(kind).has(kElementwise) && !opInfo(kind).has(kSideEffects)))
    return &elementwise;
  return nullptr;
}

}  // namespace dlc::llvm_cpu
