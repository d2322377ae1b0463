// Entry points of the Conv and MatMul kernels that the fused-epilogue kernels build on.
#pragma once

#include "backends/reference/kernel.h"

namespace dlc::ref {

// Conv's kernel: X, W, B? (inputs 0-2) and the conv attributes of ctx's op; sets output 0.
Status runConv(KernelContext& ctx);
// Numpy-batched a @ b (1-D promotion, broadcast batch dims) into a new tensor of `out_dtype`.
Expected<Tensor> runBatchedMatMul(KernelContext& ctx, const Tensor& a, const Tensor& b, DType out_dtype);

// fused_epilogue.cc: FusedConv and FusedMatMul.
void registerFusedEpilogueKernels(KernelTable& table);

}  // namespace dlc::ref
