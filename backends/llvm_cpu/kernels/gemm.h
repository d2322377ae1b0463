// Internal GEMM engine shared by matmul.cc and conv.cc: vector types, register-tiled micro-kernels, epilogue, driver API.
#ifndef DLC_CPU_KERNELS_GEMM_H_
#define DLC_CPU_KERNELS_GEMM_H_

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "kernels.h"

// 2 = AVX-512, 1 = AVX2/FMA, 0 = other. The generated module defines it as a constant, so every
// branch on it folds away after linking; here (bitcode without target flags) it is just extern.
extern "C" const int32_t dlc_cpu_isa;
extern "C" const uint32_t dlc_cpu_activations;
extern "C" const uint32_t dlc_cpu_conv_paths;

#define DLC_INLINE static inline __attribute__((always_inline))

namespace dlc_cpu {

// Vector types of L fp32 lanes. Vector values never cross a non-inlined call (the ABI depends on
// the target features the module is finally compiled with).
template <int L> struct Vec;
template <> struct Vec<4> { typedef float T __attribute__((ext_vector_type(4))); };
template <> struct Vec<8> { typedef float T __attribute__((ext_vector_type(8))); };
template <> struct Vec<16> { typedef float T __attribute__((ext_vector_type(16))); };

// Unaligned-safe loads/stores through memcpy (one vmovups each). Macros, not functions: a function
// taking or returning a vector trips -Wpsabi in the target-less bitcode build even when inlined.
#define DLC_VLOAD(V, p) __extension__({ V dlc_v_; __builtin_memcpy(&dlc_v_, (p), sizeof(V)); dlc_v_; })
#define DLC_VSTORE(V, p, x) \
  do {                      \
    V dlc_s_ = (x);         \
    __builtin_memcpy((p), &dlc_s_, sizeof(V)); \
  } while (0)

// Register tiles per ISA: MR rows (broadcast from packed A) x NV vectors of L lanes (packed B).
// AVX-512: 8x48 uses 24 of 32 zmm as accumulators and divides the usual channel counts (64, 128...).
// AVX2: the classic 6x16 (12 of 16 ymm). Generic: 6x8 of 4-lane vectors (fits 16 SSE/NEON regs).
// KC bounds the K block so an A micro-panel (MR x KC) stays in L1 while B panels stream from L2;
// NC bounds the B block (KC x NC floats, ~480 KiB) to half of a 1 MiB L2.
struct CfgAvx512 { enum { L = 16, MR = 8, NV = 3, NR = 48, KC = 256, MC = 192, NC = 480 }; };
struct CfgAvx2 { enum { L = 8, MR = 6, NV = 2, NR = 16, KC = 256, MC = 192, NC = 480 }; };
struct CfgGeneric { enum { L = 4, MR = 6, NV = 2, NR = 8, KC = 256, MC = 192, NC = 480 }; };

DLC_INLINE int64_t ceil_div(int64_t a, int64_t b) { return (a + b - 1) / b; }
DLC_INLINE int64_t round_up(int64_t a, int64_t b) { return ceil_div(a, b) * b; }
DLC_INLINE int64_t imin(int64_t a, int64_t b) { return a < b ? a : b; }
DLC_INLINE int64_t imax(int64_t a, int64_t b) { return a > b ? a : b; }

// The tile geometry of the ISA this module runs on (folds to constants in the final module).
DLC_INLINE int64_t isa_mr() { return dlc_cpu_isa == 2 ? CfgAvx512::MR : dlc_cpu_isa == 1 ? CfgAvx2::MR : CfgGeneric::MR; }
DLC_INLINE int64_t isa_nr() { return dlc_cpu_isa == 2 ? CfgAvx512::NR : dlc_cpu_isa == 1 ? CfgAvx2::NR : CfgGeneric::NR; }
DLC_INLINE int64_t isa_lanes() { return dlc_cpu_isa == 2 ? 16 : dlc_cpu_isa == 1 ? 8 : 4; }
// Sizes computed on the host (packed/scratch bytes) must fit whatever ISA the module targets.
static const int64_t kMaxMR = 8, kMaxNR = 48;

// C[MRI x NVI*L] (+)= A_panel[kc][MRS] * B_panel[kc][NRS]. Each output element is one fma chain over
// k in order, so the result does not depend on which tile variant (edge or full) computes it.
template <int L, int MRS, int NRS, int MRI, int NVI>
DLC_INLINE void micro_kernel(int64_t kc, const float* __restrict a, const float* __restrict b, float* c,
                             int64_t ldc, bool accumulate) {
  typedef typename Vec<L>::T V;
  V acc[MRI][NVI];
#pragma unroll
  for (int i = 0; i < MRI; i++)
#pragma unroll
    for (int j = 0; j < NVI; j++) acc[i][j] = (V)0.0f;
#pragma unroll 2
  for (int64_t k = 0; k < kc; k++) {
    V bv[NVI];
#pragma unroll
    for (int j = 0; j < NVI; j++) bv[j] = DLC_VLOAD(V, b + j * L);
#pragma unroll
    for (int i = 0; i < MRI; i++) {
      V av = a[i];
#pragma unroll
      for (int j = 0; j < NVI; j++) acc[i][j] = __builtin_elementwise_fma(av, bv[j], acc[i][j]);
    }
    a += MRS;
    b += NRS;
  }
#pragma unroll
  for (int i = 0; i < MRI; i++)
#pragma unroll
    for (int j = 0; j < NVI; j++) {
      float* p = c + i * ldc + j * L;
      DLC_VSTORE(V, p, accumulate ? DLC_VLOAD(V, p) + acc[i][j] : acc[i][j]);
    }
}

// Runs the MRI-row kernel variant with nv vectors (1..NV) of columns.
template <class Cfg, int MRI, int NVI>
DLC_INLINE void micro_nv(int nv, int64_t kc, const float* a, const float* b, float* c, int64_t ldc, bool accumulate) {
  if constexpr (NVI >= 1) {
    if (nv == NVI)
      micro_kernel<Cfg::L, Cfg::MR, Cfg::NR, MRI, NVI>(kc, a, b, c, ldc, accumulate);
    else
      micro_nv<Cfg, MRI, NVI - 1>(nv, kc, a, b, c, ldc, accumulate);
  }
}
template <class Cfg, int MRI>
DLC_INLINE void micro_mr(int mr, int nv, int64_t kc, const float* a, const float* b, float* c, int64_t ldc,
                         bool accumulate) {
  if constexpr (MRI >= 1) {
    if (mr == MRI)
      micro_nv<Cfg, MRI, Cfg::NV>(nv, kc, a, b, c, ldc, accumulate);
    else
      micro_mr<Cfg, MRI - 1>(mr, nv, kc, a, b, c, ldc, accumulate);
  }
}

// ---- epilogue: y = act(scale * acc + bias + residual) -------------------------------------------
template <int ACT> DLC_INLINE float activate(float x, float alpha, float beta) {
  if (ACT == DLC_ACT_RELU) return x > 0.0f ? x : 0.0f;
  if (ACT == DLC_ACT_LEAKY_RELU) return x >= 0.0f ? x : alpha * x;
  if (ACT == DLC_ACT_CLIP) return x < alpha ? alpha : (x > beta ? beta : x);
  if (ACT == DLC_ACT_SIGMOID) return dlc_k_sigmoidf(x);
  if (ACT == DLC_ACT_HARD_SIGMOID) {
    float v = alpha * x + beta;
    return v < 0.0f ? 0.0f : (v > 1.0f ? 1.0f : v);
  }
  if (ACT == DLC_ACT_HARD_SWISH) {
    float v = x * (1.0f / 6.0f) + 0.5f;
    return x * (v < 0.0f ? 0.0f : (v > 1.0f ? 1.0f : v));
  }
  if (ACT == DLC_ACT_SILU) return x * dlc_k_sigmoidf(x);
  if (ACT == DLC_ACT_GELU) return 0.5f * x * (1.0f + dlc_k_erff(x * 0.70710678118654752f));
  if (ACT == DLC_ACT_TANH) return dlc_k_tanhf(x);
  return x;
}

// Everything the epilogue needs, with bias/residual already offset to the current (batch, group).
struct Epilogue {
  int32_t act, bias_kind;
  float alpha, beta, scale;
  const float* bias;  // ROW: [m], COL: [n], FULL: [m][bias_ld]
  int64_t bias_ld;
  const float* res;   // [m][res_ld] or null
  int64_t res_ld;
};

// Applies the epilogue in place to C[m0:m0+mr, n0:n0+nr] (c points at element (m0, n0)).
void apply_epilogue(const Epilogue& e, float* c, int64_t ldc, int64_t m0, int64_t n0, int64_t mr, int64_t nr);

// ---- blocked GEMM driver -------------------------------------------------------------------------
enum { A_PACKED = 0, A_STRIDED = 1 };             // A: pre-packed MR-row panels over full K, or strided
enum { B_PACKED = 0, B_STRIDED = 1, B_IM2COL = 2, B_NBITS = 3 };  // B: pre-packed NR-col panels, strided, conv input,
                                                               // or block-quantized codes decoded as packed
// B_NBITS: B[k][n] = (code(n, k) - z(n, k / block)) * s(n, k / block) for MatMulNBits' weights
// (ir/nbits_layout.h), with the codes repacked at load by dlc_k_matmul_nbits_pack into NR-column
// panels [ceil(N/NR)][K][NR codes]: 8-bit, one byte per code; 4-bit, NR/2 bytes per k whose byte j
// holds column j in its low nibble and column j + NR/2 in its high one (so both halves decode with
// contiguous loads and stores). Scales [N][blocks]; zero points packed (zp_codes, zp_row_bytes per
// row, MatMulNBits' own form), as floats (zp_floats, one per block), or 2^(bits-1).
struct NBitsB {
  const uint8_t* panels;
  const float* scales;
  const uint8_t* zp_codes;  // or null
  const float* zp_floats;   // or null
  int64_t n, k, block, blocks, zp_row_bytes;
  int32_t bits, reserved;
};
// Bytes of the repacked codes for any ISA, and the repacking (codes: MatMulNBits' B).
size_t nbits_panels_bytes(int64_t n, int64_t k, int32_t bits);
void nbits_pack_panels(int64_t n, int64_t k, int64_t block, int32_t bits, const uint8_t* codes, uint8_t* panels);

// One GEMM C[m, n] = sum_k A[m, k] B[k, n] followed by the epilogue.
struct GemmProblem {
  int64_t m, n, k;
  int32_t a_kind, b_kind;
  const float* a;  // A_PACKED: panels [ceil(m/MR)][k][MR]; A_STRIDED: A[i][p] = a[i*a_rs + p*a_cs]
  int64_t a_rs, a_cs;
  const float* b;  // B_PACKED: panels [ceil(n/NR)][k][NR]; B_STRIDED: b[p*b_rs + j*b_cs]; B_IM2COL: x of the group
  int64_t b_rs, b_cs;
  const dlc_conv_params* conv;  // B_IM2COL geometry
  const NBitsB* nbits;          // B_NBITS weights (b unused)
  float* c;
  int64_t ldc;
  Epilogue ep;
};

// Per-job scratch bytes for any ISA (a bound: sizes may be computed on the host); conv is the
// geometry of B_IM2COL problems (null otherwise).
size_t gemm_scratch_bytes(int64_t m, int64_t n, int64_t k, int32_t a_kind, int32_t b_kind, const dlc_conv_params* conv);

// Zero-padded, column-phase-split copy of input rows: dst[c][r - r0][s][t] = x[c][r - pad_top][t*sw + s - pad_left]
// (0 outside) for c < channels, r in [r0, r0 + rows), s < stride_w, t < padded_row(p). With it, tap
// (kh, kw) of output (oh, ow) is at row oh*sh + kh*dh, phase (kw*dw) % sw, index ow + (kw*dw) / sw:
// every run of outputs along a row reads a unit-stride run, whatever the stride and padding.
int64_t padded_row(const dlc_conv_params* p);
int64_t padded_rows(const dlc_conv_params* p);  // rows needed for all outputs
void build_padded(const dlc_conv_params* p, const float* x, int64_t channels, int64_t r0, int64_t rows, float* dst);

// Runs `count` GEMMs (problem(i) fills problem i) split into at most call->threads jobs; job j uses
// scratch + j * scratch_bytes. The split depends on the thread count, the results do not.
typedef void (*GemmProblemFn)(const void* ctx, int64_t index, GemmProblem* out);
void gemm_parallel(int64_t count, GemmProblemFn problem, const void* ctx, const GemmProblem& shape,
                   const dlc_cpu_call* call, void* scratch, size_t scratch_bytes);

// Packs rows [0, m) of A[i][p] = src[i*rs + p*cs] into the A_PACKED layout of this ISA.
void pack_a_full(int64_t m, int64_t k, const float* src, int64_t rs, int64_t cs, float* dst);
// Packs columns [0, n) of B[p][j] = src[p*rs + j*cs] into the B_PACKED layout of this ISA.
void pack_b_full(int64_t n, int64_t k, const float* src, int64_t rs, int64_t cs, float* dst);

}  // namespace dlc_cpu

#endif  // DLC_CPU_KERNELS_GEMM_H_
