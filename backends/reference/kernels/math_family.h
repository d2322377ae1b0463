// Registration hooks of the math/elementwise kernel files, called from elementwise.cc and math.cc.
#pragma once

#include "backends/reference/kernel.h"

namespace dlc::ref {

void registerBinaryKernels(KernelTable& table);     // binary.cc: broadcast arithmetic, logic, Where, variadic
void registerCastKernels(KernelTable& table);       // cast.cc: Cast, CastLike
void registerMatMulKernels(KernelTable& table);     // matmul.cc: MatMul, Gemm, MatMulInteger, QLinearMatMul
void registerMatMulNBitsKernels(KernelTable& table);  // matmul_nbits.cc: MatMulNBits (block-quantized weights)
void registerQLinearBinaryKernels(KernelTable& table);  // qlinear_binary.cc: QLinearAdd, QLinearMul
void registerReduceKernels(KernelTable& table);     // reduce.cc: Reduce*, ArgMax/ArgMin, CumSum
void registerQuantizeKernels(KernelTable& table);   // quantize.cc: (De)QuantizeLinear, DynamicQuantizeLinear
void registerEinsumKernels(KernelTable& table);     // einsum.cc: Einsum, Det, EyeLike, Range
void registerRandomKernels(KernelTable& table);     // random.cc: Random*, Bernoulli, Multinomial
void registerSignalKernels(KernelTable& table);     // signal.cc: windows, DFT, STFT, MelWeightMatrix
void registerStringKernels(KernelTable& table);     // string.cc: StringNormalizer, TfIdfVectorizer
void registerFusedRegionKernels(KernelTable& table);  // fused_region.cc: Gelu, Attention, FusedElementwise

// Softmax of an f32/f64 tensor along `axis` (math.cc; shared with Attention).
Status softmaxAlongAxis(const Tensor& x, int axis, Tensor* y);

}  // namespace dlc::ref
