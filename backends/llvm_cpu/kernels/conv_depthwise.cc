// Depthwise convolution fast path (3x3/5x5, stride 1/2, no dilation): unrolled taps over a zero-bordered plane.
#include "conv_paths.h"

namespace dlc_cpu {

namespace {

// The plane: ph rows of S phases of rl floats; padded column c = iw + pad_left sits in phase c % S
// at index c / S, so tap (kh, kw) of output (i, j) is at row i*S + kh, phase kw % S, index j + kw / S.
// Borders are zeroed once per job and never written again: only input data is copied per channel.
struct Geo {
  int64_t ph, rl, rs;  // rows, floats per phase row, floats per row (S * rl)
};

Geo geo(const dlc_conv_params* p) {
  Geo g;
  g.ph = (p->out_h - 1) * p->stride_h + p->kernel_h;
  g.rl = p->out_w + (p->kernel_w - 1) / p->stride_w;
  g.rs = p->stride_w * g.rl;
  return g;
}

// d[0, n) = s[0, n) exactly: whole vectors, the last one overlapping (no loop a memcpy call would replace
// for short rows, nothing written past n).
template <int L>
DLC_INLINE void copy_exact(float* d, const float* s, int64_t n) {
  typedef typename Vec<L>::T V;
  if (n >= L) {
    for (int64_t t = 0; t + L < n; t += L) DLC_VSTORE(V, d + t, DLC_VLOAD(V, s + t));
    DLC_VSTORE(V, d + n - L, DLC_VLOAD(V, s + n - L));
  } else {
    if constexpr (L > 4) {
      copy_exact<L / 2>(d, s, n);
    } else {
      if (n > 0) d[0] = s[0];
      if (n > 1) d[1] = s[1];
      if (n > 2) d[2] = s[2];
    }
  }
}

#define DW_EVEN16(a, b) __builtin_shufflevector(a, b, 0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30)
#define DW_ODD16(a, b) __builtin_shufflevector(a, b, 1, 3, 5, 7, 9, 11, 13, 15, 17, 19, 21, 23, 25, 27, 29, 31)
#define DW_EVEN8(a, b) __builtin_shufflevector(a, b, 0, 2, 4, 6, 8, 10, 12, 14)
#define DW_ODD8(a, b) __builtin_shufflevector(a, b, 1, 3, 5, 7, 9, 11, 13, 15)
#define DW_EVEN4(a, b) __builtin_shufflevector(a, b, 0, 2, 4, 6)
#define DW_ODD4(a, b) __builtin_shufflevector(a, b, 1, 3, 5, 7)

// de[k] = s[2k] for 2k < n, dd[k] = s[2k + 1] for 2k + 1 < n, exactly (reads stay inside s[0, n)).
template <int L>
DLC_INLINE void deint_block(float* de, float* dd, const float* s, int64_t k) {
  typedef typename Vec<L>::T V;
  const V a = DLC_VLOAD(V, s + 2 * k), b = DLC_VLOAD(V, s + 2 * k + L);
  if constexpr (L == 16) {
    DLC_VSTORE(V, de + k, DW_EVEN16(a, b));
    DLC_VSTORE(V, dd + k, DW_ODD16(a, b));
  } else if constexpr (L == 8) {
    DLC_VSTORE(V, de + k, DW_EVEN8(a, b));
    DLC_VSTORE(V, dd + k, DW_ODD8(a, b));
  } else {
    DLC_VSTORE(V, de + k, DW_EVEN4(a, b));
    DLC_VSTORE(V, dd + k, DW_ODD4(a, b));
  }
}

template <int L>
DLC_INLINE void deint_exact(float* de, float* dd, const float* s, int64_t n) {
  if (n >= 2 * L) {
    for (int64_t k = 0; 2 * (k + L) < n; k += L) deint_block<L>(de, dd, s, k);
    deint_block<L>(de, dd, s, (n - 2 * L) / 2);  // the last block, overlapping
    if (n & 1) de[n / 2] = s[n - 1];
  } else {
    if constexpr (L > 4) {
      deint_exact<L / 2>(de, dd, s, n);
    } else {
      for (int64_t k = 0; 2 * k < n; k++) de[k] = s[2 * k];
      for (int64_t k = 0; 2 * k + 1 < n; k++) dd[k] = s[2 * k + 1];
    }
  }
}

// Copies input channel xc into the plane's data positions.
template <int S>
void fill_plane(const dlc_conv_params* p, const Geo& g, const float* xc, float* plane) {
  const int64_t H = p->in_h, W = p->in_w, pt = p->pad_top, pl = p->pad_left;
  const int64_t n = imin(W, g.rs - pl);  // input columns inside the plane
  const int64_t r0 = imax(0, -pt), r1 = imin(H, g.ph - pt);
  if (n <= 0) return;
  for (int64_t ih = r0; ih < r1; ih++) {
    const float* s = xc + ih * W;
    float* d = plane + (ih + pt) * g.rs;
    if constexpr (S == 1) {
      copy_exact<16>(d + pl, s, n);
    } else {
      // Even input columns land in phase pl % 2, odd ones in the other phase.
      if (pl & 1)
        deint_exact<16>(d + g.rl + (pl >> 1), d + ((pl + 1) >> 1), s, n);
      else
        deint_exact<16>(d + (pl >> 1), d + g.rl + (pl >> 1), s, n);
    }
  }
}

// R output rows x G vectors of L columns, all K*K taps unrolled (one fma chain per output over kh,
// then kw, like the generic path). Every vector is stored whole: lanes past the row spill into the
// next output row, which the caller writes afterwards (rows in increasing order).
template <int L, int K, int S, int R, int G>
DLC_INLINE void dw_block(const float* in, int64_t rs, int64_t rl, const float* w, float* out, int64_t ldo) {
  typedef typename Vec<L>::T V;
  V acc[R][G];
#pragma unroll
  for (int r = 0; r < R; r++)
#pragma unroll
    for (int g = 0; g < G; g++) acc[r][g] = (V)0.0f;
#pragma unroll
  for (int kh = 0; kh < K; kh++)
#pragma unroll
    for (int kw = 0; kw < K; kw++) {
      const V wv = w[kh * K + kw];
      const float* src = in + (kw % S) * rl + kw / S;
#pragma unroll
      for (int r = 0; r < R; r++)
#pragma unroll
        for (int g = 0; g < G; g++)
          acc[r][g] = __builtin_elementwise_fma(wv, DLC_VLOAD(V, src + (r * S + kh) * rs + g * L), acc[r][g]);
    }
#pragma unroll
  for (int r = 0; r < R; r++)
#pragma unroll
    for (int g = 0; g < G; g++) DLC_VSTORE(V, out + r * ldo + g * L, acc[r][g]);
}

// Output rows [i0, i1) of one channel, out = the channel's output plane (row pitch ldo).
template <int L, int K, int S, int G, int R>
DLC_INLINE void dw_rows_g(const float* plane, const Geo& g, const float* w, float* out, int64_t ldo, int64_t i0,
                          int64_t i1, int64_t j0) {
  int64_t i = i0;
  for (; i + R <= i1; i += R) dw_block<L, K, S, R, G>(plane + i * S * g.rs + j0, g.rs, g.rl, w, out + i * ldo + j0, ldo);
  if constexpr (R == 4) {
    if (i1 - i == 3) return dw_block<L, K, S, 3, G>(plane + i * S * g.rs + j0, g.rs, g.rl, w, out + i * ldo + j0, ldo);
    if (i1 - i == 2) return dw_block<L, K, S, 2, G>(plane + i * S * g.rs + j0, g.rs, g.rl, w, out + i * ldo + j0, ldo);
  }
  for (; i < i1; i++) dw_block<L, K, S, 1, G>(plane + i * S * g.rs + j0, g.rs, g.rl, w, out + i * ldo + j0, ldo);
}

template <int L, int K, int S>
void dw_rows(const dlc_conv_params* p, const float* plane, const Geo& g, const float* w, float* out, int64_t ldo,
             int64_t i0, int64_t i1) {
  const int64_t nv = ceil_div(p->out_w, L);
  switch (nv) {
    case 1: return dw_rows_g<L, K, S, 1, 4>(plane, g, w, out, ldo, i0, i1, 0);
    case 2: return dw_rows_g<L, K, S, 2, 2>(plane, g, w, out, ldo, i0, i1, 0);
    case 3: return dw_rows_g<L, K, S, 3, 2>(plane, g, w, out, ldo, i0, i1, 0);
    case 4: return dw_rows_g<L, K, S, 4, 1>(plane, g, w, out, ldo, i0, i1, 0);
    case 5: return dw_rows_g<L, K, S, 5, 1>(plane, g, w, out, ldo, i0, i1, 0);
    case 6: return dw_rows_g<L, K, S, 6, 1>(plane, g, w, out, ldo, i0, i1, 0);
    case 7: return dw_rows_g<L, K, S, 7, 1>(plane, g, w, out, ldo, i0, i1, 0);
    case 8: return dw_rows_g<L, K, S, 8, 1>(plane, g, w, out, ldo, i0, i1, 0);
    default: break;
  }
  // Wide rows: blocks of 4 vectors, then single vectors; row by row so that spills stay in order.
  for (int64_t i = i0; i < i1; i++) {
    int64_t v = 0;
    for (; v + 4 <= nv; v += 4) dw_rows_g<L, K, S, 4, 1>(plane, g, w, out, ldo, i, i + 1, v * L);
    for (; v < nv; v++) dw_rows_g<L, K, S, 1, 1>(plane, g, w, out, ldo, i, i + 1, v * L);
  }
}

template <int L, int K, int S>
void dw_job_t(const dlc_conv_params* p, const float* x, const float* w, const Epilogue& ep, float* y, float* scratch,
              int64_t u0, int64_t u1) {
  const Geo g = geo(p);
  const int64_t OH = p->out_h, OW = p->out_w, plane_out = OH * OW, mult = p->out_c / p->groups;
  const int64_t spill = ceil_div(OW, L) * L;  // floats each row store writes
  float* plane = scratch;
  float* tail = plane + g.ph * g.rs + 4 * 16;  // rows whose stores would spill past the job's outputs
  memset(plane, 0, (size_t)(g.ph * g.rs + 4 * 16) * sizeof(float));
  int64_t built = -1, e0 = u0;  // e0: first unit still without its epilogue
  for (int64_t u = u0; u < u1; u++) {
    const int64_t b = u / p->out_c, o = u % p->out_c, ic = b * p->in_c + o / mult;
    if (ic != built) {
      fill_plane<S>(p, g, x + ic * p->in_h * p->in_w, plane);
      built = ic;
    }
    float* yc = y + u * plane_out;
    const float* wc = w + o * K * K;
    // Rows [0, safe) store inside the job's outputs; the rest go through `tail`.
    const int64_t room = (u1 - u) * plane_out - spill;
    const int64_t safe = room < 0 ? 0 : imin(OH, room / OW + 1);
    dw_rows<L, K, S>(p, plane, g, wc, yc, OW, 0, safe);
    if (safe < OH) {
      dw_rows<L, K, S>(p, plane, g, wc, tail - safe * OW, OW, safe, OH);
      memcpy(yc + safe * OW, tail, (size_t)((OH - safe) * OW) * sizeof(float));
    }
    // The epilogue over a run of channels of one batch, while they are still in cache.
    const bool flush = u + 1 == u1 || (u + 1) % p->out_c == 0 || (u + 1 - e0) * plane_out >= 4096;
    if (flush) {
      const int64_t eb = e0 / p->out_c;
      Epilogue e = ep;
      if (e.res) e.res += eb * p->out_c * plane_out;
      apply_epilogue(e, y + e0 * plane_out, plane_out, e0 - eb * p->out_c, 0, u + 1 - e0, plane_out);
      e0 = u + 1;
    }
  }
}

template <int L>
void dw_job_l(const dlc_conv_params* p, const float* x, const float* w, const Epilogue& ep, float* y, float* scratch,
              int64_t u0, int64_t u1) {
  const bool s2 = p->stride_w == 2;
  if (p->kernel_h == 3) {
    if (s2) dw_job_t<L, 3, 2>(p, x, w, ep, y, scratch, u0, u1);
    else dw_job_t<L, 3, 1>(p, x, w, ep, y, scratch, u0, u1);
  } else {
    if (s2) dw_job_t<L, 5, 2>(p, x, w, ep, y, scratch, u0, u1);
    else dw_job_t<L, 5, 1>(p, x, w, ep, y, scratch, u0, u1);
  }
}

}  // namespace

bool dw_fast_ok(const dlc_conv_params* p) {
  const int64_t k = p->kernel_h, s = p->stride_h;
  return (k == 3 || k == 5) && p->kernel_w == k && (s == 1 || s == 2) && p->stride_w == s && p->dilation_h == 1 &&
         p->dilation_w == 1 && p->pad_top >= 0 && p->pad_left >= 0 && p->pad_top < k && p->pad_left < k;
}

size_t dw_fast_scratch_floats(const dlc_conv_params* p) {
  const Geo g = geo(p);
  return (size_t)(g.ph * g.rs + 4 * 16 + 2 * round_up(p->out_w, 16) + p->out_w + 16);
}

// Output units (batch, channel) [u0, u1), in order. Narrow rows use 8 lanes even on AVX-512.
void dw_fast_job(const dlc_conv_params* p, const float* x, const float* w, const Epilogue& ep, float* y, float* scratch,
                 int64_t u0, int64_t u1) {
  if (dlc_cpu_isa == 2 && p->out_w > 8)
    dw_job_l<16>(p, x, w, ep, y, scratch, u0, u1);
  else if (dlc_cpu_isa >= 1)
    dw_job_l<8>(p, x, w, ep, y, scratch, u0, u1);
  else
    dw_job_l<4>(p, x, w, ep, y, scratch, u0, u1);
}

}  // namespace dlc_cpu
