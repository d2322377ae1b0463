/* The LLVM CPU backend's kernel library interface: plain C structs and functions shared by the
 * kernels (compiled to LLVM bitcode with clang-19 and linked into each model's module), the code
 * generator (which fills the parameter structs with a model's constant shapes) and the runtime
 * library (which calls the generated segment entry points).
 *
 * Everything here is x86-64 System V C: the compiler writes parameter structs as bytes into the
 * model's module, so their layout must be the same on both sides (no pointers, no padding
 * surprises: int64 first, then 32-bit fields).
 *
 * Layouts are ONNX's: NCHW activations, OIHW convolution weights, row-major matrices. Weights
 * are repacked once, at load, by the *_pack functions into the kernels' private layout. */
#ifndef DLC_CPU_KERNELS_H_
#define DLC_CPU_KERNELS_H_

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define DLC_CPU_ABI_VERSION 2

/* One run of a generated segment (and what every kernel gets to reach the thread pool). */
typedef struct dlc_cpu_call {
  void* const* args;   /* the segment's inputs, then its outputs */
  const void* packed;  /* the segment's weights as repacked at load */
  void* workspace;     /* intermediates, then `threads` per-thread scratch areas */
  void* runtime;
  /* Runs fn(context, i) for i in [0, range) on the session's threads, then returns. */
  void (*parallel_for)(void* runtime, size_t range, void (*fn)(void* context, size_t i), void* context);
  int32_t threads;     /* >= 1: kernels split work into at most this many jobs of equal size */
  int32_t reserved;
  /* Segments with symbolic dims: the sizes of this run (plan/segment_plan.h); null otherwise. */
  const void* table;
} dlc_cpu_call;

/* Activations of the fused epilogues (ir/ops.def): y = act(alpha * acc + bias + residual). */
enum {
  DLC_ACT_NONE = 0,
  DLC_ACT_RELU = 1,
  DLC_ACT_LEAKY_RELU = 2,   /* alpha */
  DLC_ACT_CLIP = 3,         /* min = alpha, max = beta */
  DLC_ACT_SIGMOID = 4,
  DLC_ACT_HARD_SIGMOID = 5, /* max(0, min(1, alpha x + beta)) */
  DLC_ACT_HARD_SWISH = 6,   /* x * HardSigmoid(x; 1/6, 1/2) */
  DLC_ACT_SILU = 7,
  DLC_ACT_GELU = 8,         /* erf form */
  DLC_ACT_TANH = 9
};

/* Where the bias of an epilogue broadcasts: nothing, one value per output row (per output
 * channel for convolutions), one per column, or a full [M, N] matrix. */
enum { DLC_BIAS_NONE = 0, DLC_BIAS_ROW = 1, DLC_BIAS_COL = 2, DLC_BIAS_FULL = 3 };

typedef struct dlc_epilogue {
  int32_t act;
  int32_t bias_kind;
  int32_t has_residual; /* residual has the output's shape and layout */
  float alpha;          /* the activation's parameters */
  float beta;
  float scale;          /* multiplies the accumulator before bias (FusedMatMul's alpha; 1 otherwise) */
} dlc_epilogue;

/* ---- 2-D convolution (1-D convolutions come as H = 1) -------------------------------------- */
typedef struct dlc_conv_params {
  int64_t batch, in_c, in_h, in_w;
  int64_t out_c, out_h, out_w;
  int64_t kernel_h, kernel_w, stride_h, stride_w, pad_top, pad_left, dilation_h, dilation_w;
  int64_t groups;
  dlc_epilogue ep; /* bias_kind is NONE or ROW (one per output channel) */
} dlc_conv_params;

size_t dlc_k_conv_packed_bytes(const dlc_conv_params* p);
void dlc_k_conv_pack(const dlc_conv_params* p, const float* weight /* OIHW */, void* packed);
size_t dlc_k_conv_scratch_bytes(const dlc_conv_params* p); /* per thread */
void dlc_k_conv(const dlc_conv_params* p, const float* x, const void* packed_weight, const float* bias,
                const float* residual, float* y, const dlc_cpu_call* call, void* scratch);

/* ---- matrix multiplication: C[b] = epilogue(scale * op(A[b]) @ op(B[b])) ------------------- */
typedef struct dlc_matmul_params {
  int64_t batch, m, n, k;
  /* Element strides between consecutive batch entries (0: the operand is shared by all). */
  int64_t a_batch_stride, b_batch_stride, c_batch_stride, bias_batch_stride;
  int32_t trans_a, trans_b;
  int32_t b_packed; /* B is a weight, repacked at load by dlc_k_matmul_pack_b (b_batch_stride 0) */
  int32_t reserved;
  dlc_epilogue ep;  /* bias: NONE, COL (n values), ROW (m values) or FULL ([m, n], row-major) */
} dlc_matmul_params;

size_t dlc_k_matmul_packed_b_bytes(const dlc_matmul_params* p);
void dlc_k_matmul_pack_b(const dlc_matmul_params* p, const float* b, void* packed);
size_t dlc_k_matmul_scratch_bytes(const dlc_matmul_params* p); /* per thread */
void dlc_k_matmul(const dlc_matmul_params* p, const float* a, const void* b /* packed when b_packed */,
                  const float* bias, const float* residual, float* c, const dlc_cpu_call* call, void* scratch);

/* ---- matrix multiplication by a pruned weight: C[m, n] = epilogue(scale * A[m, k] @ B[k, n]) --
 * B (trans_b: given as [N, K]) is a constant with `nnz` nonzeros, repacked at load by
 * dlc_k_matmul_sparse_pack into its nonzeros per output column: int32 starts[n + 1], int32
 * rows[nnz] (their k), float values[nnz]. A is [M, K] row-major, or (a_trans) [K, M]; C is
 * [M, n] (bias NONE or COL), or (c_trans) [N, M] (bias NONE or ROW): with both, `batch` images of a
 * pointwise convolution, Y[b] [OC, HW] = W [OC, IC] X[b] [IC, HW]. The product runs over tiles of
 * rows of A transposed into scratch, one FMA per nonzero and tile vector. */
typedef struct dlc_matmul_sparse_params {
  int64_t batch, m, n, k, nnz;
  int64_t a_batch_stride, c_batch_stride; /* elements between images */
  int32_t trans_b, a_trans, c_trans, reserved;
  dlc_epilogue ep;
} dlc_matmul_sparse_params;
size_t dlc_k_matmul_sparse_packed_bytes(const dlc_matmul_sparse_params* p);
void dlc_k_matmul_sparse_pack(const dlc_matmul_sparse_params* p, const float* b, void* packed);
size_t dlc_k_matmul_sparse_scratch_bytes(const dlc_matmul_sparse_params* p); /* per thread */
void dlc_k_matmul_sparse(const dlc_matmul_sparse_params* p, const float* a, const void* packed_b, const float* bias,
                         const float* residual, float* c, const dlc_cpu_call* call, void* scratch);

/* ---- convolution by a pruned weight (one group, any kernel, stride <= 4, dilation) ---------
 * The output rows of an image in bands of band_rows; per band the input rows it reads are copied,
 * zero-padded, into scratch as `phases` stride-phase planes per input channel ([phase][ic]
 * [band_plane]; phase (qy, qx) holds padded rows qy, qy + stride_h, ... and columns qx,
 * qx + stride_w, ..., grid_w columns), so that every kernel tap of every output position is one
 * constant offset from the position's index p = oy_local · grid_w + ox on that grid (columns from
 * out_w on are computed and dropped). The weight is packed at load by dlc_k_conv_sparse_pack into
 * its nonzeros per output channel: int32 starts[out_c + 1], int32 offsets[nnz] (slot · in_c + ic)
 * · band_plane + (kh·dh / sh) · grid_w + kw·dw / sw, float values[nnz]. */
typedef struct dlc_conv_sparse_params {
  dlc_conv_params conv;
  int64_t nnz;
  int64_t band_rows;  /* output rows per band */
  int64_t grid_w;     /* out_w + (kernel_w - 1) · dilation_w / stride_w */
  int64_t band_plane; /* floats per phase plane: (band_rows + (kernel_h - 1) · dilation_h / stride_h + 1) · grid_w */
  int32_t phases;     /* phase planes in use per input channel */
  int32_t phase_slot[16]; /* phase qy · stride_w + qx -> its plane, or -1 where no tap reads it */
  int32_t reserved;
} dlc_conv_sparse_params;
size_t dlc_k_conv_sparse_packed_bytes(const dlc_conv_sparse_params* p);
void dlc_k_conv_sparse_pack(const dlc_conv_sparse_params* p, const float* weight /* OIHW */, void* packed);
size_t dlc_k_conv_sparse_scratch_bytes(const dlc_conv_sparse_params* p); /* per thread */
void dlc_k_conv_sparse(const dlc_conv_sparse_params* p, const float* x, const void* packed_weight, const float* bias,
                       const float* residual, float* y, const dlc_cpu_call* call, void* scratch);

/* ---- weight-only quantized matrix multiplication (MatMulNBits, ir/ops.def) ------------------
 * Y[m, n] = sum_k A[m, k] W[n, k] + bias[n], W block-quantized (ir/nbits_layout.h): `bits`-bit
 * codes B [N][blocks][block * bits / 8], scales [N][blocks], zero points packed u8
 * (zp_kind 1: [N][ceil(blocks * bits / 8)]), f32 (zp_kind 2: [N][blocks]) or 2^(bits-1) (0).
 * B is a weight, repacked at load by dlc_k_matmul_nbits_pack (still as codes); the codes are
 * decoded a GEMM block at a time, never into a whole float weight. */
enum { DLC_NBITS_ZP_DEFAULT = 0, DLC_NBITS_ZP_PACKED = 1, DLC_NBITS_ZP_FLOAT = 2 };
typedef struct dlc_matmul_nbits_params {
  int64_t m, n, k, block;
  int32_t bits, zp_kind;
  int32_t has_bias, reserved;
} dlc_matmul_nbits_params;
size_t dlc_k_matmul_nbits_packed_bytes(const dlc_matmul_nbits_params* p);
void dlc_k_matmul_nbits_pack(const dlc_matmul_nbits_params* p, const uint8_t* b, void* packed);
size_t dlc_k_matmul_nbits_scratch_bytes(const dlc_matmul_nbits_params* p); /* per thread */
void dlc_k_matmul_nbits(const dlc_matmul_nbits_params* p, const float* a, const void* packed_b, const float* scales,
                        const void* zero_points, const float* bias, float* y, const dlc_cpu_call* call, void* scratch);

/* ---- pooling ------------------------------------------------------------------------------- */
enum { DLC_POOL_MAX = 0, DLC_POOL_AVG = 1 };
typedef struct dlc_pool_params {
  int64_t batch, channels, in_h, in_w, out_h, out_w;
  int64_t kernel_h, kernel_w, stride_h, stride_w, pad_top, pad_left, dilation_h, dilation_w;
  int32_t kind;
  int32_t count_include_pad; /* average pooling: divide by the whole window, padding included */
} dlc_pool_params;
void dlc_k_pool2d(const dlc_pool_params* p, const float* x, float* y, const dlc_cpu_call* call);
/* y[r] = mean(x[r, 0:len]) for r in [0, rows) */
void dlc_k_row_mean(int64_t rows, int64_t len, const float* x, float* y, const dlc_cpu_call* call);

/* ---- normalization and softmax ------------------------------------------------------------- */
/* Softmax (or LogSoftmax) over the middle axis of x viewed as [outer, len, inner]. */
typedef struct dlc_softmax_params {
  int64_t outer, len, inner;
  int32_t log;
  int32_t reserved;
} dlc_softmax_params;
void dlc_k_softmax(const dlc_softmax_params* p, const float* x, float* y, const dlc_cpu_call* call);

/* LayerNormalization over the last `len` elements of each of `rows` rows; with `rms`,
 * RMSNormalization (y = x / sqrt(mean(x²) + epsilon) · scale: no centering, no bias). */
typedef struct dlc_layernorm_params {
  int64_t rows, len;
  float epsilon;
  int32_t has_bias;
  int32_t rms;
  int32_t reserved;
} dlc_layernorm_params;
void dlc_k_layernorm(const dlc_layernorm_params* p, const float* x, const float* scale, const float* bias, float* y,
                     const dlc_cpu_call* call);

/* y[r, c, i] = x[r, c, i] * scale[c] + shift[c] over [rows, channels, len]: inference
 * BatchNormalization with its statistics folded into scale and shift at compile time. */
void dlc_k_channel_affine(int64_t rows, int64_t channels, int64_t len, const float* x, const float* scale,
                          const float* shift, float* y, const dlc_cpu_call* call);

/* ---- attention (dlc's Attention op) -------------------------------------------------------- */
/* Y[b, s, h*dv:(h+1)*dv] = softmax(Q_h K_h^T * scale + M[b, h, s, :]) V_h with Q [B,S,H*D],
 * K [B,T,H*D], V [B,T,H*Dv], all contiguous; M (optional) addressed with element strides
 * mask_stride[0..3] over (b, h, s, t), 0 where it broadcasts. */
typedef struct dlc_attention_params {
  int64_t batch, heads, s, t, d, dv;
  int64_t mask_stride[4];
  float scale;
  int32_t has_mask;
} dlc_attention_params;
size_t dlc_k_attention_scratch_bytes(const dlc_attention_params* p); /* per thread */
void dlc_k_attention(const dlc_attention_params* p, const float* q, const float* k, const float* v, const float* mask,
                     float* y, const dlc_cpu_call* call, void* scratch);

/* ---- data movement --------------------------------------------------------------------------- */
/* dst[i0..i{rank-1}] = src[sum i_j * src_stride[j]] over dims (element strides; dst contiguous
 * with strides dst_stride); rank <= 8. Transpose, Split, Concat, Slice and Expand use it. */
typedef struct dlc_copy_params {
  int64_t rank;
  int64_t elem_bytes;
  int64_t dims[8];
  int64_t src_stride[8];
  int64_t dst_stride[8];
} dlc_copy_params;
void dlc_k_copy(const dlc_copy_params* p, const void* src, void* dst, const dlc_cpu_call* call);

/* ---- link-time constants ---------------------------------------------------------------------
 * The code generator defines these in each model's module, so that the kernels' branches on them
 * fold away and only the code the model can reach is compiled:
 *   const int32_t dlc_cpu_isa;           2 AVX-512, 1 AVX2/FMA, 0 other
 *   const uint32_t dlc_cpu_activations;  bit (1 << DLC_ACT_*) for each activation an epilogue uses
 *   const uint32_t dlc_cpu_conv_paths;   DLC_CONV_PATH_* for the kinds of convolution present
 * They only select code: a kernel meeting a case whose bit is clear still computes it correctly
 * (on a slower, general path). */
enum {
  DLC_CONV_PATH_DIRECT = 1,     /* depthwise: one input channel per group */
  DLC_CONV_PATH_FEW_PIXELS = 2  /* groups == 1 and at most 256 output pixels */
};

/* ---- scalar math used by generated elementwise loops (vectorizable: no libm calls) ---------- */
float dlc_k_expf(float x);
float dlc_k_logf(float x);
float dlc_k_erff(float x);
float dlc_k_tanhf(float x);
float dlc_k_sigmoidf(float x);
float dlc_k_activate(int32_t act, float x, float alpha, float beta);

#ifdef __cplusplus
}
#endif

#endif /* DLC_CPU_KERNELS_H_ */
