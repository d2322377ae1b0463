// Pooling kernels: 2-D max/average pooling over NCHW and the row mean behind GlobalAveragePool.
#include "kernels.h"
#include "vector_math.h"

namespace {

using namespace dlc_k;

// Floats in each per-job row buffer (on the stack); wider rows are processed in chunks of output columns.
constexpr int64_t kRowBuf = 4096;

// Taps k in [0, K) whose position base + k * d lies in [0, n), as [*lo, *hi).
inline void valid_taps(int64_t base, int64_t K, int64_t d, int64_t n, int64_t* lo, int64_t* hi) {
  int64_t l = base < 0 ? (-base + d - 1) / d : 0;
  int64_t h = base >= n ? 0 : (base + (K - 1) * d < n ? K : (n - 1 - base) / d + 1);
  *lo = l < K ? l : K;
  *hi = h > *lo ? h : *lo;
}

template <bool kMax> inline float combine(float a, float b) { return kMax ? (b > a ? b : a) : a + b; }

// dst[i] = src[i * S + phase] for every phase: after this, output column o's tap at padded input column
// o * S + off reads phase off % S at index o + off / S, so every tap becomes a contiguous, vectorizable
// stream whatever the stride. S = 1, 2 get their own instantiations (resnet's stride-2 pools).
template <int S> inline void deinterleave(const float* src, int64_t n, float* dst, int64_t plen, int64_t s_rt) {
  const int64_t s = S > 0 ? S : s_rt;
  if (S == 2) {
    int64_t i = 0;
    for (; 2 * i + 1 < n; i++) {
      dst[i] = src[2 * i];
      dst[plen + i] = src[2 * i + 1];
    }
    if (2 * i < n) dst[i] = src[2 * i];
    return;
  }
  for (int64_t ph = 0; ph < s; ph++)
    for (int64_t i = 0; i * s + ph < n; i++) dst[ph * plen + i] = src[i * s + ph];
}

// One output row (plane, oh), all output columns, with the separable scheme: reduce the valid kernel rows
// into a padded input row P (pads: -inf for max, 0 for average), then reduce the kernel columns of P.
template <bool kMax, int S>
void pool_row(const dlc_pool_params* p, const float* xp, int64_t oh, float* yr) {
  const int64_t H = p->in_h, W = p->in_w, OW = p->out_w, KW = p->kernel_w, DW = p->dilation_w;
  const int64_t SW = S > 0 ? S : p->stride_w;
  const float pad = kMax ? -__builtin_inff() : 0.0f;
  float P[kRowBuf], Q[kRowBuf];
  int64_t kh0, kh1;
  const int64_t ih0 = oh * p->stride_h - p->pad_top;
  valid_taps(ih0, p->kernel_h, p->dilation_h, H, &kh0, &kh1);
  const int64_t span = (KW - 1) * DW + 1;
  const int64_t ocmax = (kRowBuf - span - SW) / SW + 1;  // so that SW * ceil(ext / SW) <= kRowBuf
  for (int64_t ow0 = 0; ow0 < OW; ow0 += ocmax) {
    const int64_t oc = OW - ow0 < ocmax ? OW - ow0 : ocmax;
    const int64_t ext = (oc - 1) * SW + span;  // padded input columns this chunk reads
    const int64_t c0 = ow0 * SW - p->pad_left;  // input column of P[0]
    int64_t jlo = -c0 < 0 ? 0 : (-c0 > ext ? ext : -c0);
    int64_t jhi = W - c0 > ext ? ext : W - c0;
    if (jhi < jlo) jhi = jlo;
    for (int64_t j = 0; j < jlo; j++) P[j] = pad;
    for (int64_t j = jhi; j < ext; j++) P[j] = pad;
    if (kh0 == kh1) {
      for (int64_t j = jlo; j < jhi; j++) P[j] = pad;
    } else {
      const float* r = xp + (ih0 + kh0 * p->dilation_h) * W + c0;
      for (int64_t j = jlo; j < jhi; j++) P[j] = r[j];
      for (int64_t kh = kh0 + 1; kh < kh1; kh++) {
        r = xp + (ih0 + kh * p->dilation_h) * W + c0;
        for (int64_t j = jlo; j < jhi; j++) P[j] = combine<kMax>(P[j], r[j]);
      }
    }
    const float* src = P;
    int64_t plen = ext;
    if (SW > 1) {
      plen = (ext + SW - 1) / SW;
      deinterleave<S>(P, ext, Q, plen, SW);
      src = Q;
    }
    float* y = yr + ow0;
    for (int64_t kw = 0; kw < KW; kw++) {
      const int64_t off = kw * DW;
      const float* t = src + (off % SW) * plen + off / SW;
      if (kw == 0)
        for (int64_t i = 0; i < oc; i++) y[i] = t[i];
      else
        for (int64_t i = 0; i < oc; i++) y[i] = combine<kMax>(y[i], t[i]);
    }
    if (!kMax) {
      if (p->count_include_pad) {
        // The window clipped to [-pad, in + pad_end) with pad_end as large as the output needs is always
        // the whole kernel (see the brief in the report): divide by kernel_h * kernel_w.
        const float inv = 1.0f / (float)(p->kernel_h * KW);
        for (int64_t i = 0; i < oc; i++) y[i] *= inv;
      } else {
        const int64_t rows = kh1 - kh0;
        for (int64_t i = 0; i < oc; i++) {
          const int64_t base = (ow0 + i) * SW - p->pad_left;
          int64_t cols = KW;
          if (base < 0 || base + (KW - 1) * DW >= W) {
            int64_t lo, hi;
            valid_taps(base, KW, DW, W, &lo, &hi);
            cols = hi - lo;
          }
          const int64_t cnt = rows * cols;
          y[i] = cnt > 0 ? y[i] / (float)cnt : 0.0f;
        }
      }
    }
  }
}

// Direct per-output fallback for windows wider than the row buffer (never seen in practice).
void pool_row_direct(const dlc_pool_params* p, const float* xp, int64_t oh, float* yr) {
  const bool is_max = p->kind == DLC_POOL_MAX;
  int64_t kh0, kh1;
  const int64_t ih0 = oh * p->stride_h - p->pad_top;
  valid_taps(ih0, p->kernel_h, p->dilation_h, p->in_h, &kh0, &kh1);
  for (int64_t ow = 0; ow < p->out_w; ow++) {
    int64_t kw0, kw1;
    const int64_t iw0 = ow * p->stride_w - p->pad_left;
    valid_taps(iw0, p->kernel_w, p->dilation_w, p->in_w, &kw0, &kw1);
    float acc = is_max ? -__builtin_inff() : 0.0f;
    for (int64_t kh = kh0; kh < kh1; kh++)
      for (int64_t kw = kw0; kw < kw1; kw++) {
        const float v = xp[(ih0 + kh * p->dilation_h) * p->in_w + iw0 + kw * p->dilation_w];
        acc = is_max ? (v > acc ? v : acc) : acc + v;
      }
    if (!is_max) {
      const int64_t cnt = p->count_include_pad ? p->kernel_h * p->kernel_w : (kh1 - kh0) * (kw1 - kw0);
      acc = cnt > 0 ? acc / (float)cnt : 0.0f;
    }
    yr[ow] = acc;
  }
}

struct PoolCtx {
  const dlc_pool_params* p;
  const float* x;
  float* y;
  int64_t rows, jobs;
};

template <bool kMax, int S> void pool_rows(const PoolCtx* c, int64_t r0, int64_t r1) {
  const dlc_pool_params* p = c->p;
  for (int64_t r = r0; r < r1; r++) {
    const int64_t plane = r / p->out_h, oh = r % p->out_h;
    pool_row<kMax, S>(p, c->x + plane * p->in_h * p->in_w, oh, c->y + r * p->out_w);
  }
}

void pool_job(void* ctx, size_t i) {
  const PoolCtx* c = (const PoolCtx*)ctx;
  const dlc_pool_params* p = c->p;
  const int64_t r0 = split_point(c->rows, c->jobs, (int64_t)i), r1 = split_point(c->rows, c->jobs, (int64_t)i + 1);
  const bool is_max = p->kind == DLC_POOL_MAX;
  if ((p->kernel_w - 1) * p->dilation_w + 1 + p->stride_w > kRowBuf) {
    for (int64_t r = r0; r < r1; r++)
      pool_row_direct(p, c->x + (r / p->out_h) * p->in_h * p->in_w, r % p->out_h, c->y + r * p->out_w);
  } else if (p->stride_w == 1) {
    is_max ? pool_rows<true, 1>(c, r0, r1) : pool_rows<false, 1>(c, r0, r1);
  } else if (p->stride_w == 2) {
    is_max ? pool_rows<true, 2>(c, r0, r1) : pool_rows<false, 2>(c, r0, r1);
  } else {
    is_max ? pool_rows<true, 0>(c, r0, r1) : pool_rows<false, 0>(c, r0, r1);
  }
}

struct MeanCtx {
  int64_t rows, len, jobs;
  const float* x;
  float* y;
};

void mean_job(void* ctx, size_t i) {
  const MeanCtx* c = (const MeanCtx*)ctx;
  const int64_t r0 = split_point(c->rows, c->jobs, (int64_t)i), r1 = split_point(c->rows, c->jobs, (int64_t)i + 1);
  const float inv = 1.0f / (float)c->len;
  for (int64_t r = r0; r < r1; r++) c->y[r] = reduce_sum(c->x + r * c->len, c->len) * inv;
}

}  // namespace

extern "C" void dlc_k_pool2d(const dlc_pool_params* p, const float* x, float* y, const dlc_cpu_call* call) {
  PoolCtx c = {p, x, y, p->batch * p->channels * p->out_h, 1};
  if (c.rows <= 0 || p->out_w <= 0) return;
  // ~32K tap reads per job at least: smaller pools are not worth waking threads for.
  c.jobs = job_count(call, c.rows, c.rows * p->out_w * p->kernel_h * p->kernel_w, 32768);
  if (c.jobs == 1)
    pool_job(&c, 0);
  else
    call->parallel_for(call->runtime, (size_t)c.jobs, pool_job, &c);
}

extern "C" void dlc_k_row_mean(int64_t rows, int64_t len, const float* x, float* y, const dlc_cpu_call* call) {
  MeanCtx c = {rows, len, 1, x, y};
  if (rows <= 0) return;
  c.jobs = job_count(call, rows, rows * len, 65536);
  if (c.jobs == 1)
    mean_job(&c, 0);
  else
    call->parallel_for(call->runtime, (size_t)c.jobs, mean_job, &c);
}
