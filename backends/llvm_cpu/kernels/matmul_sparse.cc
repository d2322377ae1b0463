// Matrix multiplication by a pruned (mostly zero) weight (kernels.h): the weight's nonzeros per
// output column, and tiles of kTile rows of A transposed so that each nonzero B[k][n] is one
// broadcast times one contiguous row At[k][0:kTile] — FMAs only where the weight is nonzero.
#include "sparse_dot.h"

using namespace dlc_cpu;

namespace {

constexpr int64_t kTile = kSparseTile;  // rows of A per tile

struct SparseB {
  const int32_t* starts;   // [n + 1]
  const int32_t* offsets;  // [nnz]: k · kTile, the nonzero's row of At
  const float* values;     // [nnz]
};

SparseB view(const dlc_matmul_sparse_params* p, const void* packed) {
  const int32_t* starts = (const int32_t*)packed;
  const int32_t* offsets = starts + p->n + 1;
  return SparseB{starts, offsets, (const float*)(offsets + p->nnz)};
}

struct Ctx {
  const dlc_matmul_sparse_params* p;
  const float* a;
  SparseB b;
  const float* bias;
  const float* res;
  float* c;
  char* scratch;
  size_t scratch_bytes;
  int64_t m_tiles, n_chunks, items, jobs;
};

// One image's operands.
struct Image {
  const float* a;
  const float* res;
  float* c;
};

// C[m0:m0+mt, n0:n1] for one tile: At = the tile's rows of A transposed (zero past mt), then per
// output column the sum over its nonzeros (sparse_dot.h) into Yt[n][kTile]; then Yt transposed into
// C and the epilogue.
template <int L>
DLC_INLINE void tile(const Ctx& x, const Image& im, int64_t m0, int64_t mt, int64_t n0, int64_t n1, float* at, float* yt) {
  const int64_t K = x.p->k, N = x.p->n, M = x.p->m;
  if (x.p->a_trans) {  // A is [K, M]: each k's tile row is a contiguous run
    for (int64_t k = 0; k < K; ++k) {
      const float* src = im.a + k * M + m0;
      float* dst = at + k * kTile;
      for (int64_t i = 0; i < kTile; ++i) dst[i] = i < mt ? src[i] : 0.0f;
    }
  } else {
    for (int64_t i = 0; i < kTile; ++i) {
      const float* row = im.a + (m0 + i) * K;
      if (i < mt)
        for (int64_t k = 0; k < K; ++k) at[k * kTile + i] = row[k];
      else
        for (int64_t k = 0; k < K; ++k) at[k * kTile + i] = 0.0f;
    }
  }
  for (int64_t n = n0; n < n1; ++n)
    sparse_dot<L>(x.b.offsets, x.b.values, x.b.starts[n], x.b.starts[n + 1], at, yt + (n - n0) * kTile);
  Epilogue ep;
  ep.act = x.p->ep.act;
  ep.bias_kind = x.bias ? x.p->ep.bias_kind : DLC_BIAS_NONE;
  ep.alpha = x.p->ep.alpha;
  ep.beta = x.p->ep.beta;
  ep.scale = x.p->ep.scale;
  ep.bias = x.bias;
  const bool has_res = x.p->ep.has_residual && im.res;
  if (x.p->c_trans) {  // C is [N, M]: tile row n is a contiguous run; the epilogue's rows are n
    for (int64_t n = n0; n < n1; ++n)
      for (int64_t i = 0; i < mt; ++i) im.c[n * M + m0 + i] = yt[(n - n0) * kTile + i];
    ep.bias_ld = M;
    ep.res = has_res ? im.res : nullptr;
    ep.res_ld = M;
    apply_epilogue(ep, im.c + n0 * M + m0, M, n0, m0, n1 - n0, mt);
    return;
  }
  float* c = im.c + m0 * N;
  for (int64_t i = 0; i < mt; ++i)
    for (int64_t n = n0; n < n1; ++n) c[i * N + n] = yt[(n - n0) * kTile + i];
  ep.bias_ld = N;
  ep.res = has_res ? im.res + m0 * N : nullptr;
  ep.res_ld = N;
  apply_epilogue(ep, c + n0, N, 0, n0, mt, n1 - n0);
}

// Job j runs items [j·items/jobs, (j+1)·items/jobs), item = (image, row tile, column chunk).
void job(void* vctx, size_t j) {
  const Ctx& x = *(const Ctx*)vctx;
  float* at = (float*)(x.scratch + (size_t)j * x.scratch_bytes);
  float* yt = at + x.p->k * kTile;
  const int64_t from = (int64_t)j * x.items / x.jobs, to = ((int64_t)j + 1) * x.items / x.jobs;
  const int64_t chunk = ceil_div(x.p->n, x.n_chunks);
  for (int64_t item = from; item < to; ++item) {
    const int64_t b = item / (x.m_tiles * x.n_chunks), t = item / x.n_chunks % x.m_tiles, q = item % x.n_chunks;
    const Image im{x.a + b * x.p->a_batch_stride, x.res ? x.res + b * x.p->c_batch_stride : nullptr, x.c + b * x.p->c_batch_stride};
    const int64_t m0 = t * kTile, mt = imin(kTile, x.p->m - m0);
    const int64_t n0 = q * chunk, n1 = imin(x.p->n, n0 + chunk);
    if (n0 >= n1) continue;
    if (dlc_cpu_isa == 2) tile<16>(x, im, m0, mt, n0, n1, at, yt);
    else if (dlc_cpu_isa == 1) tile<8>(x, im, m0, mt, n0, n1, at, yt);
    else tile<4>(x, im, m0, mt, n0, n1, at, yt);
  }
}

}  // namespace

extern "C" size_t dlc_k_matmul_sparse_packed_bytes(const dlc_matmul_sparse_params* p) {
  return (size_t)(p->n + 1 + p->nnz) * sizeof(int32_t) + (size_t)p->nnz * sizeof(float);
}

// Never writes past nnz entries, whatever the weight holds.
extern "C" void dlc_k_matmul_sparse_pack(const dlc_matmul_sparse_params* p, const float* b, void* packed) {
  int32_t* starts = (int32_t*)packed;
  int32_t* offsets = starts + p->n + 1;
  float* values = (float*)(offsets + p->nnz);
  int64_t e = 0;
  for (int64_t n = 0; n < p->n; ++n) {
    starts[n] = (int32_t)e;
    for (int64_t k = 0; k < p->k && e < p->nnz; ++k) {
      const float v = p->trans_b ? b[n * p->k + k] : b[k * p->n + n];
      if (v != 0.0f) {
        offsets[e] = (int32_t)(k * kTile);
        values[e++] = v;
      }
    }
  }
  starts[p->n] = (int32_t)e;
}

extern "C" size_t dlc_k_matmul_sparse_scratch_bytes(const dlc_matmul_sparse_params* p) {
  return (size_t)((p->k + p->n) * kTile) * sizeof(float);
}

extern "C" void dlc_k_matmul_sparse(const dlc_matmul_sparse_params* p, const float* a, const void* packed_b, const float* bias,
                                    const float* residual, float* c, const dlc_cpu_call* call, void* scratch) {
  Ctx x{p, a, view(p, packed_b), bias, residual, c, (char*)scratch, dlc_k_matmul_sparse_scratch_bytes(p), 0, 1, 0, 1};
  x.m_tiles = ceil_div(p->m, kTile);
  const int64_t threads = imax(1, call->threads), tiles = imax(1, p->batch) * x.m_tiles;
  // Few row tiles: split the columns too, so every thread has work.
  if (tiles < threads) x.n_chunks = imin(ceil_div(threads, tiles), imax(1, p->n / 64));
  x.items = tiles * x.n_chunks;
  x.jobs = imin(threads, x.items);
  if (x.jobs <= 1) job(&x, 0);
  else call->parallel_for(call->runtime, (size_t)x.jobs, job, &x);
}
