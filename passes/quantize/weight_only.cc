// Weight-only quantization: MatMul/Gemm weights as block-quantized 4- or 8-bit codes in ONNX
// Runtime's MatMulNBits form (ir/ops.def), activations left in f32. The form ORT's own int4
// quantizer writes, so the output runs there too.
#include <algorithm>
#include <cmath>

#include "ir/nbits_layout.h"
#include "passes/quantize/insert_qdq.h"
#include "passes/quantize/rewrite_util.h"

namespace dlc::quantize {

BlockQuantizedWeight quantizeWeightBlocks(const Tensor& w, int bits, int64_t block_size, bool symmetric) {
  const nbits::Layout l{w.dim(1), w.dim(0), bits, block_size};
  BlockQuantizedWeight q;
  q.codes = Tensor(DType::U8, {l.n, l.blocks(), l.blobBytes()});
  q.scales = Tensor(DType::F32, {l.n * l.blocks()});
  if (!symmetric) q.zero_points = Tensor(DType::U8, {l.n * l.zeroPointRowBytes()});
  const float* src = w.data<float>();
  float* scales = q.scales.data<float>();
  std::vector<double> deq(static_cast<size_t>(w.numel()));
  const int max_code = l.maxCode();
  for (int64_t n = 0; n < l.n; ++n) {
    uint8_t* row = q.codes.data<uint8_t>() + n * l.rowBytes();
    for (int64_t b = 0; b < l.blocks(); ++b) {
      const int64_t k0 = b * l.block, k1 = std::min(l.k, k0 + l.block);
      float lo = 0.0f, hi = 0.0f;  // the range always holds 0, so zero weights stay exact
      for (int64_t k = k0; k < k1; ++k) {
        lo = std::min(lo, src[n * l.k + k]);
        hi = std::max(hi, src[n * l.k + k]);
      }
      float s = 0.0f;
      int z = l.defaultZeroPoint();
      if (symmetric) {
        s = std::max(-lo, hi) / static_cast<float>(l.defaultZeroPoint() - 1);
      } else {
        s = (hi - lo) / static_cast<float>(max_code);
        if (s > 0.0f) z = static_cast<int>(std::min<float>(static_cast<float>(max_code), std::max(0.0f, std::nearbyint(-lo / s))));
        nbits::setCode(q.zero_points.data<uint8_t>() + n * l.zeroPointRowBytes(), b, bits, z);
      }
      if (!(s > 0.0f)) s = 1.0f;  // an all-zero block: any scale reproduces it
      scales[n * l.blocks() + b] = s;
      for (int64_t k = k0; k < k1; ++k) {
        const float v = std::nearbyint(src[n * l.k + k] / s) + static_cast<float>(z);
        const int c = static_cast<int>(std::min<float>(static_cast<float>(max_code), std::max(0.0f, v)));
        nbits::setCode(row, k, bits, c);
        deq[static_cast<size_t>(n * l.k + k)] = static_cast<double>(static_cast<float>(c - z) * s);
      }
      for (int64_t k = k1; k < k0 + l.block; ++k) nbits::setCode(row, k, bits, z);  // padding decodes to 0
    }
  }
  q.sqnr_db = sqnrDb(w, deq);
  return q;
}

// Each planned MatMul/Gemm becomes MatMulNBits(x, codes, scales, zero points?, bias?): MatMul's
// B [K, N] and Gemm's B (transposed unless transB) give W = Bᵀ [N, K]; Gemm's alpha scales the
// block scales and beta·C becomes the bias when C is a vector of N (else an Add after).
Expected<QuantizeResult> insertWeightOnly(Graph& g, const QuantPlan& plan, const QuantizeOptions& options) {
  QuantizeResult result;
  NameSet names(g);
  for (const PlannedOp& p : plan.ops) {
    Op& op = *p.op;
    const bool gemm = op.kind() == OpKind::Gemm;
    const Tensor w = linearWeight(op, true);  // [N, K]
    const int64_t n = w.dim(0), k = w.dim(1);
    BlockQuantizedWeight q = quantizeWeightBlocks(w, options.weight_bits, options.block_size, options.symmetric);
    if (gemm && op.getFloat("alpha", 1.0f) != 1.0f)
      for (int64_t i = 0; i < q.scales.numel(); ++i) q.scales.data<float>()[i] *= op.getFloat("alpha", 1.0f);
    result.weights.push_back({op.location(), op.name(), w.numel(), q.sqnr_db});
    result.float_weight_bytes += w.numel() * 4;
    result.quantized_weight_bytes += q.codes.numel() + q.scales.numel() * 4 + q.zero_points.numel();

    passes::Rewriter rw(op);
    const std::string wname = op.operand(1)->name(), base = op.result()->name();
    std::vector<Value*> operands{op.operand(0), rw.constant(q.codes, names.unique(wname + "_q" + std::to_string(options.weight_bits))),
                                 rw.constant(q.scales, names.unique(wname + "_scales"))};
    operands.push_back(options.symmetric ? nullptr : rw.constant(q.zero_points, names.unique(wname + "_zero_points")));
    Value* add_after = nullptr;
    if (Tensor c = scaledGemmBias(op); c.defined()) {
      result.float_weight_bytes += c.numel() * 4;
      result.quantized_weight_bytes += c.numel() * 4;
      const bool vector = c.numel() == n && (c.rank() == 1 || (c.rank() == 2 && c.dim(0) == 1));
      if (vector) {
        Tensor bias = Tensor::fromBytes(DType::F32, {n}, c.raw(), static_cast<size_t>(n) * 4);
        operands.resize(6, nullptr);
        operands[5] = rw.constant(bias, names.unique(base + "_bias"));
      } else {
        add_after = rw.constant(c, names.unique(base + "_bias"));
      }
    }
    while (!operands.back()) operands.pop_back();
    std::map<std::string, Attribute> attrs{{"K", Attribute::ofInt(k)},
                                           {"N", Attribute::ofInt(n)},
                                           {"bits", Attribute::ofInt(options.weight_bits)},
                                           {"block_size", Attribute::ofInt(options.block_size)}};
    DLC_ASSIGN_OR_RETURN(Op* mm, rw.create(OpKind::MatMulNBits, operands, attrs, 1, op.location()));
    Value* out = mm->result();
    if (add_after) {
      out->setName(names.unique(base + "_unbiased"));
      DLC_ASSIGN_OR_RETURN(Op* add, rw.create(OpKind::Add, {out, add_after}, {}, 1, op.location() + "_bias"));
      out = add->result();
    }
    out->setName(base);
    rw.replaceOp(op, {out});
  }
  return result;
}

}  // namespace dlc::quantize
