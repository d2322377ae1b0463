// Softmax / LogSoftmax over the middle axis of [outer, len, inner], LayerNormalization over rows, and
// the per-channel affine map of inference BatchNormalization.
#include "kernels.h"
#include "vector_math.h"

namespace {

using namespace dlc_k;

// Columns of the inner axis handled together when inner > 1 (running max/sum kept on the stack).
constexpr int64_t kInnerChunk = 256;

// Softmax of one contiguous row, max-subtracted so that exp never overflows.
void softmax_row(const float* x, float* y, int64_t n, bool log) {
  const float m = reduce_max(x, n);
  f16 acc = 0.0f;
  int64_t i = 0;
  for (; i + 16 <= n; i += 16) {
    const f16 e = exp_(load<f16>(x + i) - m);
    if (!log) store(y + i, e);
    acc += e;
  }
  if (i < n) {  // tail padded with -inf, whose exp is 0
    float buf[16];
    for (int j = 0; j < 16; j++) buf[j] = i + j < n ? x[i + j] : -__builtin_inff();
    const f16 e = exp_(load<f16>(buf) - m);
    acc += e;
    if (!log) {
      store(buf, e);
      for (int64_t j = 0; i + j < n; j++) y[i + j] = buf[j];
    }
  }
  const float s = hsum(acc);
  if (log) {
    const float sub = m + log_(s);
    for (int64_t j = 0; j < n; j++) y[j] = x[j] - sub;
  } else {
    const float inv = 1.0f / s;
    for (int64_t j = 0; j < n; j++) y[j] *= inv;
  }
}

// Softmax over the len axis of a [len, inner] block, columns [0, w) of the inner axis (w <= kInnerChunk);
// the column loops are plain loops that vectorize across the inner axis.
void softmax_cols(const float* x, float* y, int64_t len, int64_t inner, int64_t w, bool log) {
  float mx[kInnerChunk], sm[kInnerChunk];
  for (int64_t i = 0; i < w; i++) { mx[i] = x[i]; sm[i] = 0.0f; }
  for (int64_t l = 1; l < len; l++) {
    const float* r = x + l * inner;
    for (int64_t i = 0; i < w; i++) mx[i] = r[i] > mx[i] ? r[i] : mx[i];
  }
  for (int64_t l = 0; l < len; l++) {
    const float* r = x + l * inner;
    float* o = y + l * inner;
    for (int64_t i = 0; i < w; i++) {
      const float e = exp_(r[i] - mx[i]);
      if (!log) o[i] = e;
      sm[i] += e;
    }
  }
  if (log) {
    for (int64_t i = 0; i < w; i++) sm[i] = mx[i] + log_(sm[i]);
    for (int64_t l = 0; l < len; l++)
      for (int64_t i = 0; i < w; i++) y[l * inner + i] = x[l * inner + i] - sm[i];
  } else {
    for (int64_t i = 0; i < w; i++) sm[i] = 1.0f / sm[i];
    for (int64_t l = 0; l < len; l++)
      for (int64_t i = 0; i < w; i++) y[l * inner + i] *= sm[i];
  }
}

struct SoftmaxCtx {
  const dlc_softmax_params* p;
  const float* x;
  float* y;
  int64_t units, chunks, jobs;  // units = outer * chunks of the inner axis
};

void softmax_job(void* ctx, size_t job) {
  const SoftmaxCtx* c = (const SoftmaxCtx*)ctx;
  const int64_t len = c->p->len, inner = c->p->inner;
  const bool log = c->p->log != 0;
  const int64_t u0 = split_point(c->units, c->jobs, (int64_t)job), u1 = split_point(c->units, c->jobs, (int64_t)job + 1);
  for (int64_t u = u0; u < u1; u++) {
    if (inner == 1) {
      softmax_row(c->x + u * len, c->y + u * len, len, log);
    } else {
      const int64_t o = u / c->chunks, i0 = (u % c->chunks) * kInnerChunk;
      const int64_t w = inner - i0 < kInnerChunk ? inner - i0 : kInnerChunk;
      const int64_t off = o * len * inner + i0;
      softmax_cols(c->x + off, c->y + off, len, inner, w, log);
    }
  }
}

struct LayerNormCtx {
  const dlc_layernorm_params* p;
  const float* x;
  const float* scale;
  const float* bias;
  float* y;
  int64_t jobs;
};

// Two passes (mean, then the mean of squared deviations) so that rows with a large mean keep their
// variance. Everything works on x - x[0] (exact for values near x[0]) and mean - x[0], which keeps the
// deviations accurate when the row's mean is large compared to its spread (a float mean would not be).
void layernorm_row(const float* x, const float* scale, const float* bias, float* y, int64_t n, float eps) {
  const float x0 = x[0];
  f16 a0 = 0.0f, a1 = 0.0f;
  int64_t i = 0;
  for (; i + 32 <= n; i += 32) {
    a0 += load<f16>(x + i) - x0;
    a1 += load<f16>(x + i + 16) - x0;
  }
  float sum = hsum(a0 + a1);
  for (; i < n; i++) sum += x[i] - x0;
  const float m = sum / (float)n;  // mean - x0
  a0 = 0.0f;
  a1 = 0.0f;
  for (i = 0; i + 32 <= n; i += 32) {
    const f16 d0 = (load<f16>(x + i) - x0) - m, d1 = (load<f16>(x + i + 16) - x0) - m;
    a0 += d0 * d0;
    a1 += d1 * d1;
  }
  float ss = hsum(a0 + a1);
  for (; i < n; i++) ss += ((x[i] - x0) - m) * ((x[i] - x0) - m);
  const float rstd = 1.0f / __builtin_sqrtf(ss / (float)n + eps);
  if (bias) {
    if (scale)
      for (int64_t j = 0; j < n; j++) y[j] = ((x[j] - x0) - m) * rstd * scale[j] + bias[j];
    else
      for (int64_t j = 0; j < n; j++) y[j] = ((x[j] - x0) - m) * rstd + bias[j];
  } else {
    if (scale)
      for (int64_t j = 0; j < n; j++) y[j] = ((x[j] - x0) - m) * rstd * scale[j];
    else
      for (int64_t j = 0; j < n; j++) y[j] = ((x[j] - x0) - m) * rstd;
  }
}

// RMSNorm: the mean of squares (no centering), then x · 1/sqrt(ms + eps) · scale, as the reference.
void rmsnorm_row(const float* x, const float* scale, float* y, int64_t n, float eps) {
  f16 a0 = 0.0f, a1 = 0.0f;
  int64_t i = 0;
  for (; i + 32 <= n; i += 32) {
    const f16 v0 = load<f16>(x + i), v1 = load<f16>(x + i + 16);
    a0 += v0 * v0;
    a1 += v1 * v1;
  }
  float ss = hsum(a0 + a1);
  for (; i < n; i++) ss += x[i] * x[i];
  const float inv = 1.0f / __builtin_sqrtf(ss / (float)n + eps);
  if (scale)
    for (int64_t j = 0; j < n; j++) y[j] = x[j] * inv * scale[j];
  else
    for (int64_t j = 0; j < n; j++) y[j] = x[j] * inv;
}

void layernorm_job(void* ctx, size_t job) {
  const LayerNormCtx* c = (const LayerNormCtx*)ctx;
  const int64_t rows = c->p->rows, n = c->p->len;
  const int64_t r0 = split_point(rows, c->jobs, (int64_t)job), r1 = split_point(rows, c->jobs, (int64_t)job + 1);
  if (c->p->rms)
    for (int64_t r = r0; r < r1; r++) rmsnorm_row(c->x + r * n, c->scale, c->y + r * n, n, c->p->epsilon);
  else
    for (int64_t r = r0; r < r1; r++) layernorm_row(c->x + r * n, c->scale, c->bias, c->y + r * n, n, c->p->epsilon);
}

}  // namespace

extern "C" void dlc_k_softmax(const dlc_softmax_params* p, const float* x, float* y, const dlc_cpu_call* call) {
  if (p->outer <= 0 || p->len <= 0 || p->inner <= 0) return;
  SoftmaxCtx c = {p, x, y, 0, 1, 1};
  c.chunks = p->inner == 1 ? 1 : (p->inner + kInnerChunk - 1) / kInnerChunk;
  c.units = p->outer * c.chunks;
  // exp dominates: ~16K elements per job at least.
  c.jobs = job_count(call, c.units, p->outer * p->len * p->inner, 16384);
  if (c.jobs == 1)
    softmax_job(&c, 0);
  else
    call->parallel_for(call->runtime, (size_t)c.jobs, softmax_job, &c);
}

extern "C" void dlc_k_layernorm(const dlc_layernorm_params* p, const float* x, const float* scale, const float* bias,
                                float* y, const dlc_cpu_call* call) {
  if (p->rows <= 0 || p->len <= 0) return;
  LayerNormCtx c = {p, x, scale, p->has_bias ? bias : nullptr, y, 1};
  c.jobs = job_count(call, p->rows, p->rows * p->len, 32768);
  if (c.jobs == 1)
    layernorm_job(&c, 0);
  else
    call->parallel_for(call->runtime, (size_t)c.jobs, layernorm_job, &c);
}

namespace {

struct AffineCtx {
  int64_t planes, channels, len;
  const float *x, *scale, *shift;
  float* y;
  int64_t jobs;
};

void affine_job(void* ctx, size_t job) {
  const AffineCtx& c = *static_cast<const AffineCtx*>(ctx);
  const int64_t lo = split_point(c.planes, c.jobs, (int64_t)job), hi = split_point(c.planes, c.jobs, (int64_t)job + 1);
  for (int64_t p = lo; p < hi; p++) {
    const float a = c.scale[p % c.channels], b = c.shift[p % c.channels];
    const float* x = c.x + p * c.len;
    float* y = c.y + p * c.len;
    for (int64_t i = 0; i < c.len; i++) y[i] = x[i] * a + b;
  }
}

}  // namespace

extern "C" void dlc_k_channel_affine(int64_t rows, int64_t channels, int64_t len, const float* x, const float* scale,
                                     const float* shift, float* y, const dlc_cpu_call* call) {
  if (rows <= 0 || channels <= 0 || len <= 0) return;
  AffineCtx c = {rows * channels, channels, len, x, scale, shift, y, 1};
  c.jobs = job_count(call, c.planes, c.planes * len, 32768);
  if (c.jobs == 1)
    affine_job(&c, 0);
  else
    call->parallel_for(call->runtime, (size_t)c.jobs, affine_job, &c);
}
