// dlc's Attention op: per (batch, head), softmax(Q K^T * scale + mask) V with register-blocked products.
#include "kernels.h"
#include "vector_math.h"

extern "C" const int32_t dlc_cpu_isa;  // 2: AVX-512, 1: AVX2, 0: other (a link-time constant)

namespace {

using namespace dlc_k;

// Query rows whose scores are live at once: bounds the per-thread scratch and keeps the block in L2.
constexpr int64_t kRowBlock = 64;

template <class V> inline V load_part(const float* p, int64_t n) {
  V v = 0.0f;
  memcpy(&v, p, (size_t)n * sizeof(float));
  return v;
}
template <class V> inline void store_part(float* p, V v, int64_t n) { memcpy(p, &v, (size_t)n * sizeof(float)); }

// C[i, 0:nc] = sum_k A[i * lda + k] * B[k * ldb + 0:nc] for i < MR, nc <= NV * W: MR x NV accumulators
// stay in registers over the whole k loop. kFull: nc == NV * W; otherwise the last vector is partial.
template <class V, int MR, int NV, bool kFull>
__attribute__((always_inline)) inline void micro(int64_t K, const float* A, int64_t lda, const float* B, int64_t ldb,
                                                 float* C, int64_t ldc, int64_t nc) {
  constexpr int W = Lanes<V>::value;
  V acc[MR][NV];
  for (int i = 0; i < MR; i++)
    for (int j = 0; j < NV; j++) acc[i][j] = 0.0f;
  for (int64_t k = 0; k < K; k++) {
    V b[NV];
    for (int j = 0; j < NV; j++)
      b[j] = kFull || j < NV - 1 ? load<V>(B + k * ldb + j * W) : load_part<V>(B + k * ldb + j * W, nc - j * W);
    for (int i = 0; i < MR; i++) {
      const V a = A[i * lda + k];
      for (int j = 0; j < NV; j++) acc[i][j] += a * b[j];
    }
  }
  for (int i = 0; i < MR; i++)
    for (int j = 0; j < NV; j++) {
      if (kFull || j < NV - 1)
        store(C + i * ldc + j * W, acc[i][j]);
      else
        store_part(C + i * ldc + j * W, acc[i][j], nc - j * W);
    }
}

// C[m, n] = A[m, K] @ B[K, n] (row-major with leading dimensions), tiled by the micro kernel: full
// NV-vector column blocks, then single vectors (the last one partial), each in MR-row blocks, then single rows.
template <class V, int MR, int NV>
void matmul_block(int64_t m, int64_t n, int64_t K, const float* A, int64_t lda, const float* B, int64_t ldb, float* C,
                  int64_t ldc) {
  constexpr int W = Lanes<V>::value;
  int64_t j0 = 0;
  for (; j0 + NV * W <= n; j0 += NV * W) {
    int64_t i = 0;
    for (; i + MR <= m; i += MR) micro<V, MR, NV, true>(K, A + i * lda, lda, B + j0, ldb, C + i * ldc + j0, ldc, NV * W);
    for (; i < m; i++) micro<V, 1, NV, true>(K, A + i * lda, lda, B + j0, ldb, C + i * ldc + j0, ldc, NV * W);
  }
  for (; j0 < n; j0 += W) {
    const int64_t nc = n - j0 < W ? n - j0 : W;
    int64_t i = 0;
    if (nc == W) {
      for (; i + MR <= m; i += MR) micro<V, MR, 1, true>(K, A + i * lda, lda, B + j0, ldb, C + i * ldc + j0, ldc, W);
      for (; i < m; i++) micro<V, 1, 1, true>(K, A + i * lda, lda, B + j0, ldb, C + i * ldc + j0, ldc, W);
    } else {
      for (; i + MR <= m; i += MR) micro<V, MR, 1, false>(K, A + i * lda, lda, B + j0, ldb, C + i * ldc + j0, ldc, nc);
      for (; i < m; i++) micro<V, 1, 1, false>(K, A + i * lda, lda, B + j0, ldb, C + i * ldc + j0, ldc, nc);
    }
  }
}

struct Layout {
  int64_t tp;  // score row stride: t rounded up to 16 floats
  int64_t rb;  // query rows per block
};

Layout layout(const dlc_attention_params* p) {
  Layout l;
  l.tp = (p->t + 15) / 16 * 16;
  l.rb = p->s < kRowBlock ? p->s : kRowBlock;
  return l;
}

struct AttnCtx {
  const dlc_attention_params* p;
  const float *q, *k, *v, *mask;
  float* y;
  void* scratch;
  size_t scratch_bytes;
  int64_t jobs;
};

// softmax(row * scale + mask_row) in place over t entries; mask_row strided by mstride (0: broadcast).
inline void score_softmax(float* r, int64_t t, float scale, const float* mrow, int64_t mstride) {
  if (!mrow)
    for (int64_t j = 0; j < t; j++) r[j] *= scale;
  else if (mstride == 1)
    for (int64_t j = 0; j < t; j++) r[j] = r[j] * scale + mrow[j];
  else
    for (int64_t j = 0; j < t; j++) r[j] = r[j] * scale + mrow[j * mstride];
  const float m = reduce_max(r, t);
  f16 acc = 0.0f;
  int64_t j = 0;
  for (; j + 16 <= t; j += 16) {
    const f16 e = exp_(load<f16>(r + j) - m);
    store(r + j, e);
    acc += e;
  }
  float s = hsum(acc);
  for (; j < t; j++) {
    r[j] = exp_(r[j] - m);
    s += r[j];
  }
  const float inv = 1.0f / s;
  for (j = 0; j < t; j++) r[j] *= inv;
}

template <class V, int MR, int NV> void attention_head(const AttnCtx* c, int64_t bh, float* kt, float* sc) {
  const dlc_attention_params* p = c->p;
  const int64_t H = p->heads, S = p->s, T = p->t, D = p->d, DV = p->dv;
  const int64_t b = bh / H, h = bh % H;
  const Layout l = layout(p);
  const float* q = c->q + b * S * H * D + h * D;
  const float* k = c->k + b * T * H * D + h * D;
  const float* v = c->v + b * T * H * DV + h * DV;
  float* y = c->y + b * S * H * DV + h * DV;
  // K_h^T as [D, tp] so that the score product streams contiguous rows of it; zero pad columns.
  for (int64_t t = 0; t < T; t++)
    for (int64_t d = 0; d < D; d++) kt[d * l.tp + t] = k[t * H * D + d];
  for (int64_t d = 0; d < D; d++)
    for (int64_t t = T; t < l.tp; t++) kt[d * l.tp + t] = 0.0f;
  for (int64_t s0 = 0; s0 < S; s0 += l.rb) {
    const int64_t rows = S - s0 < l.rb ? S - s0 : l.rb;
    matmul_block<V, MR, NV>(rows, l.tp, D, q + s0 * H * D, H * D, kt, l.tp, sc, l.tp);
    for (int64_t i = 0; i < rows; i++) {
      const float* mrow = nullptr;
      if (p->has_mask && c->mask)
        mrow = c->mask + b * p->mask_stride[0] + h * p->mask_stride[1] + (s0 + i) * p->mask_stride[2];
      score_softmax(sc + i * l.tp, T, p->scale, mrow, p->mask_stride[3]);
    }
    matmul_block<V, MR, NV>(rows, DV, T, sc, l.tp, v, H * DV, y + s0 * H * DV, H * DV);
  }
}

template <class V, int MR, int NV> void attention_job(void* ctx, size_t job) {
  const AttnCtx* c = (const AttnCtx*)ctx;
  const dlc_attention_params* p = c->p;
  const Layout l = layout(p);
  uintptr_t base = (uintptr_t)((char*)c->scratch + job * c->scratch_bytes);
  float* kt = (float*)((base + 63) & ~(uintptr_t)63);
  float* sc = kt + p->d * l.tp;
  const int64_t n = p->batch * p->heads;
  const int64_t i0 = split_point(n, c->jobs, (int64_t)job), i1 = split_point(n, c->jobs, (int64_t)job + 1);
  for (int64_t bh = i0; bh < i1; bh++) attention_head<V, MR, NV>(c, bh, kt, sc);
}

}  // namespace

extern "C" size_t dlc_k_attention_scratch_bytes(const dlc_attention_params* p) {
  const Layout l = layout(p);
  return (size_t)((p->d + l.rb) * l.tp) * sizeof(float) + 64;
}

extern "C" void dlc_k_attention(const dlc_attention_params* p, const float* q, const float* k, const float* v,
                                const float* mask, float* y, const dlc_cpu_call* call, void* scratch) {
  const int64_t n = p->batch * p->heads;
  if (n <= 0 || p->s <= 0 || p->dv <= 0) return;
  AttnCtx c = {p, q, k, v, mask, y, scratch, dlc_k_attention_scratch_bytes(p), 1};
  c.jobs = n < call->threads ? n : call->threads;
  void (*fn)(void*, size_t);
  // 4 rows x 4 vectors of accumulators fill half of AVX-512's 32 registers; 4 x 2 suits AVX2's 16.
  if (dlc_cpu_isa == 2)
    fn = attention_job<f16, 4, 4>;
  else
    fn = attention_job<f8, 4, 2>;
  if (c.jobs == 1)
    fn(&c, 0);
  else
    call->parallel_for(call->runtime, (size_t)c.jobs, fn, &c);
}
