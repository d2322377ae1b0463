// The inner loop the sparse-weight kernels share (matmul_sparse.cc, conv_sparse.cc): one output
// channel's T results as the sum over the channel's nonzero weights w_e of
// w_e · base[offset_e : offset_e + T] — one broadcast and T/L FMAs per nonzero, several
// nonzeros at a time into independent accumulators (the FMA latency), nothing for a zero weight.
#ifndef DLC_CPU_KERNELS_SPARSE_DOT_H_
#define DLC_CPU_KERNELS_SPARSE_DOT_H_

#include "gemm.h"

namespace dlc_cpu {

constexpr int64_t kSparseTile = 32;  // results per call unless asked: 2 AVX-512 vectors, 4 AVX2 ones, 8 of 4 lanes

// out[0:T] = sum over e in [begin, end) of values[e] · base[offsets[e] + 0:T].
template <int L, int T = kSparseTile>
DLC_INLINE void sparse_dot(const int32_t* offsets, const float* values, int64_t begin, int64_t end, const float* base, float* out) {
  typedef typename Vec<L>::T V;
  constexpr int NV = T / L;
  constexpr int U = NV >= 8 ? 1 : 4;  // nonzeros in flight: 8-16 accumulators, within 16 registers from 8 vectors up
  V acc[U][NV];
#pragma unroll
  for (int u = 0; u < U; ++u)
#pragma unroll
    for (int j = 0; j < NV; ++j) acc[u][j] = (V)0.0f;
  int64_t e = begin;
  for (; e + U <= end; e += U) {
#pragma unroll
    for (int u = 0; u < U; ++u) {
      const V v = (V)values[e + u];
      const float* r = base + offsets[e + u];
#pragma unroll
      for (int j = 0; j < NV; ++j) acc[u][j] = __builtin_elementwise_fma(v, DLC_VLOAD(V, r + j * L), acc[u][j]);
    }
  }
  for (; e < end; ++e) {
    const V v = (V)values[e];
    const float* r = base + offsets[e];
#pragma unroll
    for (int j = 0; j < NV; ++j) acc[0][j] = __builtin_elementwise_fma(v, DLC_VLOAD(V, r + j * L), acc[0][j]);
  }
#pragma unroll
  for (int u = 1; u < U; ++u)
#pragma unroll
    for (int j = 0; j < NV; ++j) acc[0][j] += acc[u][j];
#pragma unroll
  for (int j = 0; j < NV; ++j) DLC_VSTORE(V, out + j * L, acc[0][j]);
}

}  // namespace dlc_cpu

#endif  // DLC_CPU_KERNELS_SPARSE_DOT_H_
