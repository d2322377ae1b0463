// The convolution paths conv.cc dispatches to besides its GEMM: the direct depthwise kernels
// (conv_depthwise.cc) and the transposed GEMM for few output pixels (conv_transposed.cc).
#pragma once

#include "gemm.h"

namespace dlc_cpu {

// 3x3/5x5, stride 1/2 depthwise kernels (output units [u0, u1) of one job).
bool dw_fast_ok(const dlc_conv_params* p);
size_t dw_fast_scratch_floats(const dlc_conv_params* p);
void dw_fast_job(const dlc_conv_params* p, const float* x, const float* w, const Epilogue& ep, float* y, float* scratch,
                 int64_t u0, int64_t u1);

// Convolutions with few output pixels, vectorized over output channels.
bool ct_ok(const dlc_conv_params* p);
size_t ct_packed_bytes(const dlc_conv_params* p);
void ct_pack(const dlc_conv_params* p, const float* weight, void* packed);
size_t ct_scratch_bytes(const dlc_conv_params* p);
void ct_run(const dlc_conv_params* p, const float* x, const void* packed, const float* bias, const float* residual,
            float* y, const dlc_cpu_call* call, void* scratch);

}  // namespace dlc_cpu
