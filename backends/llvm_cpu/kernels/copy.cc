// N-d strided copy (Transpose, Split, Concat, Slice, Expand): collapsed dims, memcpy rows, tiled transposes.
#include "kernels.h"
#include "vector_math.h"

namespace {

using namespace dlc_k;

// Transposes are copied in kTile x kTile element tiles so that both the source's and the destination's
// cache lines are reused within a tile.
constexpr int64_t kTile = 16;

struct Plan {
  const char* src;
  char* dst;
  int64_t eb;                // element bytes: 1, 2, 4 or 8
  int64_t nd;                // outer dims iterated by the odometer
  int64_t d[9], ss[9], ds[9];
  int64_t n_in, ss_in, ds_in;  // innermost dim (one row per unit)
  int64_t n_k, ss_k, ds_k;     // tiled: the source-contiguous dim, kTile of it per unit (n_k == 0: not tiled)
  int64_t kb;                  // units per outer index: ceil(n_k / kTile), or 1
  int64_t units, jobs;
};

template <class E> inline void copy_row(const E* s, E* d, int64_t n, int64_t ss, int64_t ds) {
  if (ss == 1 && ds == 1)
    memcpy(d, s, (size_t)n * sizeof(E));
  else if (ds == 1)
    for (int64_t i = 0; i < n; i++) d[i] = s[i * ss];
  else if (ss == 0)
    for (int64_t i = 0; i < n; i++) d[i * ds] = s[0];
  else
    for (int64_t i = 0; i < n; i++) d[i * ds] = s[i * ss];
}

// Rows k0 .. k0+kn of dim k (source stride 1) by all of the inner dim (destination stride 1).
template <class E> inline void copy_panel(const Plan* p, const E* s, E* d, int64_t k0, int64_t kn) {
  for (int64_t i0 = 0; i0 < p->n_in; i0 += kTile) {
    const int64_t ni = p->n_in - i0 < kTile ? p->n_in - i0 : kTile;
    for (int64_t a = 0; a < kn; a++) {
      const E* sc = s + (k0 + a) + i0 * p->ss_in;
      E* dr = d + (k0 + a) * p->ds_k + i0;
      for (int64_t b = 0; b < ni; b++) dr[b] = sc[b * p->ss_in];
    }
  }
}

template <class E> void copy_units(const Plan* p, int64_t u0, int64_t u1) {
  int64_t idx[9];
  int64_t o = u0 / p->kb, blk = u0 % p->kb, soff = 0, doff = 0;
  for (int64_t j = p->nd - 1; j >= 0; j--) {
    idx[j] = o % p->d[j];
    o /= p->d[j];
    soff += idx[j] * p->ss[j];
    doff += idx[j] * p->ds[j];
  }
  const E* src = (const E*)p->src;
  E* dst = (E*)p->dst;
  for (int64_t u = u0; u < u1; u++) {
    if (p->n_k) {
      const int64_t k0 = blk * kTile;
      copy_panel<E>(p, src + soff, dst + doff, k0, p->n_k - k0 < kTile ? p->n_k - k0 : kTile);
      if (++blk < p->kb) continue;
      blk = 0;
    } else {
      copy_row<E>(src + soff, dst + doff, p->n_in, p->ss_in, p->ds_in);
    }
    for (int64_t j = p->nd - 1; j >= 0; j--) {  // odometer step
      soff += p->ss[j];
      doff += p->ds[j];
      if (++idx[j] < p->d[j]) break;
      soff -= p->ss[j] * p->d[j];
      doff -= p->ds[j] * p->d[j];
      idx[j] = 0;
    }
  }
}

void copy_job(void* ctx, size_t job) {
  const Plan* p = (const Plan*)ctx;
  const int64_t u0 = split_point(p->units, p->jobs, (int64_t)job), u1 = split_point(p->units, p->jobs, (int64_t)job + 1);
  switch (p->eb) {
    case 1: copy_units<uint8_t>(p, u0, u1); break;
    case 2: copy_units<uint16_t>(p, u0, u1); break;
    case 4: copy_units<uint32_t>(p, u0, u1); break;
    default: copy_units<uint64_t>(p, u0, u1); break;
  }
}

}  // namespace

extern "C" void dlc_k_copy(const dlc_copy_params* prm, const void* src, void* dst, const dlc_cpu_call* call) {
  int64_t d[9], ss[9], ds[9], n = 0, eb = prm->elem_bytes, total = 1;
  // Drop size-1 dims; merge a dim into the next inner one when both sides step over it contiguously.
  for (int64_t j = 0; j < prm->rank; j++) {
    if (prm->dims[j] <= 0) return;
    total *= prm->dims[j];
    if (prm->dims[j] == 1) continue;
    d[n] = prm->dims[j];
    ss[n] = prm->src_stride[j];
    ds[n] = prm->dst_stride[j];
    n++;
  }
  if (eb != 1 && eb != 2 && eb != 4 && eb != 8) {  // odd element sizes: copy bytes, one more dim
    for (int64_t j = 0; j < n; j++) { ss[j] *= eb; ds[j] *= eb; }
    d[n] = eb; ss[n] = 1; ds[n] = 1; n++;
    eb = 1;
  }
  int64_t m = 0;  // collapsed dims, written in place (m <= j)
  for (int64_t j = 0; j < n; j++) {
    if (m > 0 && ss[m - 1] == ss[j] * d[j] && ds[m - 1] == ds[j] * d[j]) {
      d[m - 1] *= d[j];
      ss[m - 1] = ss[j];
      ds[m - 1] = ds[j];
    } else {
      d[m] = d[j]; ss[m] = ss[j]; ds[m] = ds[j];
      m++;
    }
  }
  if (m == 0) { d[0] = 1; ss[0] = 1; ds[0] = 1; m = 1; }
  Plan p;
  p.src = (const char*)src;
  p.dst = (char*)dst;
  p.eb = eb;
  p.n_in = d[m - 1];
  p.ss_in = ss[m - 1];
  p.ds_in = ds[m - 1];
  p.n_k = 0;
  p.kb = 1;
  // A transpose (contiguous destination rows gathered with a source stride, some outer dim contiguous in
  // the source): copy tiles instead of striding through the source one element per cache line.
  int64_t kdim = -1;
  if (p.ds_in == 1 && p.ss_in != 1 && p.ss_in != 0 && p.n_in >= 4)
    for (int64_t j = 0; j < m - 1; j++)
      if (ss[j] == 1 && d[j] >= 4) kdim = j;
  p.nd = 0;
  for (int64_t j = 0; j < m - 1; j++) {
    if (j == kdim) continue;
    p.d[p.nd] = d[j]; p.ss[p.nd] = ss[j]; p.ds[p.nd] = ds[j];
    p.nd++;
  }
  if (kdim >= 0) {
    p.n_k = d[kdim];
    p.ss_k = ss[kdim];
    p.ds_k = ds[kdim];
    p.kb = (p.n_k + kTile - 1) / kTile;
  }
  int64_t outer = 1;
  for (int64_t j = 0; j < p.nd; j++) outer *= p.d[j];
  p.units = outer * p.kb;
  // Copies are bandwidth bound: at least 128 KiB per job.
  p.jobs = job_count(call, p.units, total * prm->elem_bytes, 131072);
  if (p.jobs == 1)
    copy_job(&p, 0);
  else
    call->parallel_for(call->runtime, (size_t)p.jobs, copy_job, &p);
}
