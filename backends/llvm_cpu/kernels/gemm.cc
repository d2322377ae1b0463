// Blocked GEMM driver: operand packing (strided, im2col), K/N/M blocking, epilogue and thread split.
#include "gemm.h"

namespace dlc_cpu {

// ---- epilogue --------------------------------------------------------------------------------
// Applied once per C tile right after its last K block, while the tile is still in L1. Written as
// plain loops so the final O3 pass vectorizes them (including the inlined scalar math functions).
template <int ACT, bool VEC_BIAS, bool RES>
static void epi_rows(const Epilogue& e, float* c, int64_t ldc, int64_t m0, int64_t n0, int64_t mr, int64_t nr) {
  const float scale = e.scale, alpha = e.alpha, beta = e.beta;
  for (int64_t i = 0; i < mr; i++) {
    float* __restrict row = c + i * ldc;
    const float row_bias = e.bias_kind == DLC_BIAS_ROW ? e.bias[m0 + i] : 0.0f;
    const float* __restrict vb = nullptr;
    if (VEC_BIAS) vb = e.bias_kind == DLC_BIAS_COL ? e.bias + n0 : e.bias + (m0 + i) * e.bias_ld + n0;
    const float* __restrict rr = RES ? e.res + (m0 + i) * e.res_ld + n0 : nullptr;
    for (int64_t j = 0; j < nr; j++) {
      float v = row[j] * scale + row_bias;
      if (VEC_BIAS) v += vb[j];
      if (RES) v += rr[j];
      row[j] = activate<ACT>(v, alpha, beta);
    }
  }
}

template <int ACT>
static void epi_act(const Epilogue& e, float* c, int64_t ldc, int64_t m0, int64_t n0, int64_t mr, int64_t nr) {
  const bool vb = e.bias_kind == DLC_BIAS_COL || e.bias_kind == DLC_BIAS_FULL;
  if (vb) {
    if (e.res) epi_rows<ACT, true, true>(e, c, ldc, m0, n0, mr, nr);
    else epi_rows<ACT, true, false>(e, c, ldc, m0, n0, mr, nr);
  } else {
    if (e.res) epi_rows<ACT, false, true>(e, c, ldc, m0, n0, mr, nr);
    else epi_rows<ACT, false, false>(e, c, ldc, m0, n0, mr, nr);
  }
}

// Activations the model's epilogues use (dlc_cpu_activations, a link-time constant) get vectorized
// code; any other (which the code generator says cannot occur) still comes out right, per element.
#define DLC_EPI_CASE(ACT)                                                      \
  case ACT:                                                                    \
    if (dlc_cpu_activations & (1u << ACT)) return epi_act<ACT>(e, c, ldc, m0, n0, mr, nr); \
    break;

void apply_epilogue(const Epilogue& e, float* c, int64_t ldc, int64_t m0, int64_t n0, int64_t mr, int64_t nr) {
  if (e.act == DLC_ACT_NONE && e.bias_kind == DLC_BIAS_NONE && !e.res && e.scale == 1.0f) return;
  switch (e.act) {
    DLC_EPI_CASE(DLC_ACT_RELU)
    DLC_EPI_CASE(DLC_ACT_LEAKY_RELU)
    DLC_EPI_CASE(DLC_ACT_CLIP)
    DLC_EPI_CASE(DLC_ACT_SIGMOID)
    DLC_EPI_CASE(DLC_ACT_HARD_SIGMOID)
    DLC_EPI_CASE(DLC_ACT_HARD_SWISH)
    DLC_EPI_CASE(DLC_ACT_SILU)
    DLC_EPI_CASE(DLC_ACT_GELU)
    DLC_EPI_CASE(DLC_ACT_TANH)
    default:
      return epi_act<DLC_ACT_NONE>(e, c, ldc, m0, n0, mr, nr);
  }
  epi_act<DLC_ACT_NONE>(e, c, ldc, m0, n0, mr, nr);
  for (int64_t i = 0; i < mr; i++)
    for (int64_t j = 0; j < nr; j++) c[i * ldc + j] = dlc_k_activate(e.act, c[i * ldc + j], e.alpha, e.beta);
}
#undef DLC_EPI_CASE

// ---- packing -------------------------------------------------------------------------------------
// Panels of W "rows" (A rows or B columns): dst[p*panel_stride + kk*W + i] = X[p*W + i][kk] with
// X[i][kk] = src[i*s_idx + kk*s_k]; missing rows of the last panel are zero.
template <int W>
static void pack_panels(const float* src, int64_t s_idx, int64_t s_k, int64_t count, int64_t kc, float* dst,
                        int64_t panel_stride) {
  for (int64_t p0 = 0; p0 < count; p0 += W) {
    const int64_t w = imin(W, count - p0);
    float* __restrict d = dst + (p0 / W) * panel_stride;
    const float* s = src + p0 * s_idx;
    if (s_idx == 1) {  // each k gives w contiguous values: plain row copies
      for (int64_t kk = 0; kk < kc; kk++) {
        const float* __restrict sk = s + kk * s_k;
        for (int64_t i = 0; i < w; i++) d[kk * W + i] = sk[i];
        for (int64_t i = w; i < W; i++) d[kk * W + i] = 0.0f;
      }
    } else if (s_k == 1) {  // transpose: read each source row contiguously, write with stride W
      for (int64_t i = 0; i < w; i++) {
        const float* __restrict si = s + i * s_idx;
        for (int64_t kk = 0; kk < kc; kk++) d[kk * W + i] = si[kk];
      }
      for (int64_t i = w; i < W; i++)
        for (int64_t kk = 0; kk < kc; kk++) d[kk * W + i] = 0.0f;
    } else {
      for (int64_t kk = 0; kk < kc; kk++)
        for (int64_t i = 0; i < W; i++) d[kk * W + i] = i < w ? s[i * s_idx + kk * s_k] : 0.0f;
    }
  }
}

// Decodes columns [n0, n0 + count) and rows [k0, k0 + kc) of a B_NBITS matrix into NR-column
// panels as pack_panels lays them out (missing columns of the last panel are zero: their codes are
// 0 and their scales 0 here). Only this KC x NC slab is ever in float.
template <int W>
static void pack_nbits(const NBitsB& w, int64_t n0, int64_t count, int64_t k0, int64_t kc, float* dst, int64_t panel_stride) {
  const int64_t code_bytes = w.bits == 8 ? W : W / 2;  // per k in a panel
  for (int64_t p0 = 0; p0 < count; p0 += W) {
    const int64_t cols = imin(W, count - p0), first = n0 + p0;
    float* __restrict d = dst + (p0 / W) * panel_stride;
    const uint8_t* __restrict src = w.panels + (first / W) * w.k * code_bytes;
    float s[W], z[W];
    for (int64_t kk = 0; kk < kc;) {
      const int64_t b = (k0 + kk) / w.block, end = imin(kc, (b + 1) * w.block - k0);
      for (int64_t j = 0; j < W; j++) {  // this block's scale and zero point per column
        const int64_t n = first + j;
        s[j] = j < cols ? w.scales[n * w.blocks + b] : 0.0f;
        float zj = (float)(1 << (w.bits - 1));
        if (j >= cols) zj = 0.0f;
        else if (w.zp_floats) zj = w.zp_floats[n * w.blocks + b];
        else if (w.zp_codes) {
          const uint8_t* zr = w.zp_codes + n * w.zp_row_bytes;
          zj = (float)(w.bits == 8 ? zr[b] : (b & 1) ? (zr[b >> 1] >> 4) : (zr[b >> 1] & 0xF));
        }
        z[j] = zj;
      }
      // (q - z) s as the reference kernel rounds it: q - z is exact, one rounding after.
      for (; kk < end; kk++) {
        const uint8_t* __restrict row = src + (k0 + kk) * code_bytes;
        float* __restrict out = d + kk * W;
        if (w.bits == 8) {
          for (int j = 0; j < W; j++) out[j] = ((float)row[j] - z[j]) * s[j];
        } else {
          for (int j = 0; j < W / 2; j++) {
            out[j] = ((float)(row[j] & 0xF) - z[j]) * s[j];
            out[j + W / 2] = ((float)(row[j] >> 4) - z[j + W / 2]) * s[j + W / 2];
          }
        }
      }
    }
  }
}

size_t nbits_panels_bytes(int64_t n, int64_t k, int32_t bits) {
  const int64_t cols = imax(round_up(n, CfgAvx512::NR), imax(round_up(n, CfgAvx2::NR), round_up(n, CfgGeneric::NR)));
  return (size_t)(cols * k * bits / 8);
}

template <int W>
static void pack_nbits_panels(int64_t n, int64_t k, int64_t block, int32_t bits, const uint8_t* codes, uint8_t* panels) {
  const int64_t row_bytes = ceil_div(k, block) * block * bits / 8, code_bytes = bits == 8 ? W : W / 2;
  auto code = [&](int64_t col, int64_t kk) -> int {
    if (col >= n) return 0;
    const uint8_t* r = codes + col * row_bytes;
    return bits == 8 ? r[kk] : (kk & 1) ? (r[kk >> 1] >> 4) : (r[kk >> 1] & 0xF);
  };
  for (int64_t p = 0; p < ceil_div(n, W); p++)
    for (int64_t kk = 0; kk < k; kk++) {
      uint8_t* out = panels + (p * k + kk) * code_bytes;
      for (int64_t j = 0; j < code_bytes; j++)
        out[j] = bits == 8 ? (uint8_t)code(p * W + j, kk)
                           : (uint8_t)(code(p * W + j, kk) | code(p * W + j + W / 2, kk) << 4);
    }
}

void nbits_pack_panels(int64_t n, int64_t k, int64_t block, int32_t bits, const uint8_t* codes, uint8_t* panels) {
  const int64_t nr = isa_nr();
  if (nr == 48)
    pack_nbits_panels<48>(n, k, block, bits, codes, panels);
  else if (nr == 16)
    pack_nbits_panels<16>(n, k, block, bits, codes, panels);
  else
    pack_nbits_panels<8>(n, k, block, bits, codes, panels);
}

int64_t padded_row(const dlc_conv_params* p) {
  return p->out_w + (p->kernel_w - 1) * p->dilation_w / p->stride_w;
}
int64_t padded_rows(const dlc_conv_params* p) {
  return (p->out_h - 1) * p->stride_h + (p->kernel_h - 1) * p->dilation_h + 1;
}

// d[t] = x[t - pad] inside [0, w), else 0, for t < width. Runs are written in whole vectors whose
// overshoot lands in memory written later (the caller leaves L floats of slack after the last row);
// x is read in whole vectors while they stay below x_end (the end of the channel plane).
template <int L>
DLC_INLINE void fill_row(float* d, const float* xr, const float* x_end, int64_t pad, int64_t w, int64_t width) {
  typedef typename Vec<L>::T V;
  const int64_t lo = imax(0, imin(pad, width)), hi = imax(lo, imin(pad + w, width));
  // First vectors peeled: the loops alone would become memset calls, costly for these short runs.
  if (lo > 0) {
    DLC_VSTORE(V, d, (V)0.0f);
    for (int64_t t = L; t < lo; t += L) DLC_VSTORE(V, d + t, (V)0.0f);
  }
  const float* src = xr - pad;
  int64_t t = lo;
  for (; t < hi && src + t + L <= x_end; t += L) DLC_VSTORE(V, d + t, DLC_VLOAD(V, src + t));
  for (; t < hi; t++) d[t] = src[t];
  if (hi < width) {
    DLC_VSTORE(V, d + hi, (V)0.0f);
    for (t = hi + L; t < width; t += L) DLC_VSTORE(V, d + t, (V)0.0f);
  }
}

// d[t] = tmp[2t], d[rl + t] = tmp[2t + 1] for t < rl, in whole vectors (phase 0 first, so that its
// overshoot is overwritten by phase 1, whose overshoot lands in the next row).
DLC_INLINE void deinterleave2(const float* tmp, float* d, int64_t rl) {
  typedef Vec<16>::T V;
  for (int64_t t = 0; t < rl; t += 16) {
    const V a = DLC_VLOAD(V, tmp + 2 * t), b = DLC_VLOAD(V, tmp + 2 * t + 16);
    DLC_VSTORE(V, d + t, __builtin_shufflevector(a, b, 0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30));
  }
  for (int64_t t = 0; t < rl; t += 16) {
    const V a = DLC_VLOAD(V, tmp + 2 * t), b = DLC_VLOAD(V, tmp + 2 * t + 16);
    DLC_VSTORE(V, d + rl + t, __builtin_shufflevector(a, b, 1, 3, 5, 7, 9, 11, 13, 15, 17, 19, 21, 23, 25, 27, 29, 31));
  }
}

void build_padded(const dlc_conv_params* p, const float* x, int64_t channels, int64_t r0, int64_t rows, float* dst) {
  enum { L = 16, TMP = 4096 };
  const int64_t H = p->in_h, W = p->in_w, sw = p->stride_w, rl = padded_row(p), pl = p->pad_left;
  float tmp[TMP + 3 * L];  // one padded row before splitting it into column phases
  for (int64_t c = 0; c < channels; c++) {
    const float* xc = x + c * H * W;
    const float* x_end = xc + H * W;
    for (int64_t r = 0; r < rows; r++) {
      const int64_t ih = r0 + r - p->pad_top;
      float* d = dst + (c * rows + r) * sw * rl;  // the row's sw phases are contiguous
      if (ih < 0 || ih >= H) {
        fill_row<L>(d, xc, x_end, 0, 0, sw * rl);
        continue;
      }
      const float* xr = xc + ih * W;
      if (sw == 1) {
        fill_row<L>(d, xr, x_end, pl, W, rl);
      } else if (sw * rl <= TMP) {
        fill_row<L>(tmp, xr, x_end, pl, W, sw * rl);
        if (sw == 2) {
          deinterleave2(tmp, d, rl);
        } else {
          for (int64_t s = 0; s < sw; s++)
            for (int64_t t = 0; t < rl; t++) d[s * rl + t] = tmp[t * sw + s];
        }
      } else {  // very wide rows: element by element
        for (int64_t s = 0; s < sw; s++)
          for (int64_t t = 0; t < rl; t++) {
            const int64_t iw = t * sw + s - pl;
            d[s * rl + t] = iw >= 0 && iw < W ? xr[iw] : 0.0f;
          }
      }
    }
  }
}

// im2col from the padded copy (rows [r0, r0 + rows)) straight into NR-column panels: B[k][n] for
// k = (c, kh, kw) in [k0, k0+kc) and output pixels n in [n0, n0+nc). Runs are copied in whole
// vectors: the overshoot lands in columns/rows written later (or the block's slack), and reads
// past a run stay inside the padded buffer's slack.
template <class Cfg>
static void pack_im2col(const dlc_conv_params* cp, const float* xp, int64_t r0, int64_t rows, int64_t n0, int64_t nc,
                        int64_t k0, int64_t kc, float* dst) {
  enum { NR = Cfg::NR, L = Cfg::L };
  typedef typename Vec<L>::T V;
  const int64_t OW = cp->out_w, KH = cp->kernel_h, KW = cp->kernel_w, sh = cp->stride_h, sw = cp->stride_w;
  const int64_t dh = cp->dilation_h, dw = cp->dilation_w, rl = padded_row(cp);
  const int64_t row_stride = sw * rl, chan_stride = rows * row_stride;
  struct Seg { int64_t src, len, col; };
  for (int64_t jp = 0; jp < nc; jp += NR) {
    const int64_t w = imin(NR, nc - jp);
    float* d = dst + (jp / NR) * kc * NR;
    // The panel's columns as runs inside one output row (a run reads one padded row).
    Seg seg[NR];
    int nseg = 0;
    int64_t n = n0 + jp, oh = n / OW, ow = n % OW;
    for (int64_t col = 0; col < w;) {
      const int64_t len = imin(OW - ow, w - col);
      seg[nseg++] = Seg{(oh * sh - r0) * row_stride + ow, len, col};
      col += len;
      ow = 0;
      oh++;
    }
    int64_t c = k0 / (KH * KW), r = k0 % (KH * KW), kh = r / KW, kw = r % KW;
    int64_t phase = kw * dw % sw, q = kw * dw / sw;
    for (int64_t kk = 0; kk < kc; kk++) {
      float* drow = d + kk * NR;
      const float* src = xp + c * chan_stride + kh * dh * row_stride + phase * rl + q;
      for (int s = 0; s < nseg; s++) {
        const float* sp = src + seg[s].src;
        float* o = drow + seg[s].col;
        // len <= NR: a fixed number of guarded vector copies (a loop would become a memcpy call).
#pragma unroll
        for (int v = 0; v < Cfg::NV; v++)
          if (v * L < seg[s].len) DLC_VSTORE(V, o + v * L, DLC_VLOAD(V, sp + v * L));
      }
      for (int64_t t = w; t < NR; t++) drow[t] = 0.0f;
      if (++kw == KW) {
        kw = phase = q = 0;
        if (++kh == KH) {
          kh = 0;
          c++;
        }
      } else {
        phase += dw;
        while (phase >= sw) {
          phase -= sw;
          q++;
        }
      }
    }
  }
}

// ---- driver ----------------------------------------------------------------------------------------
// K is cut into equal blocks of at most KC (a function of K only, so every thread count sums in the
// same order); scratch holds the packed A block, the packed B block and an edge tile.
template <class Cfg> struct Layout {
  int64_t kb, a_floats, b_floats, tile_floats, x_floats;
  Layout(int64_t m, int64_t n, int64_t k, int32_t a_kind, int32_t b_kind, const dlc_conv_params* conv) {
    const int64_t nk = k > 0 ? ceil_div(k, Cfg::KC) : 0;
    kb = nk ? ceil_div(k, nk) : 0;
    a_floats = a_kind == A_STRIDED ? round_up(imin(Cfg::MC, round_up(m, Cfg::MR)) * kb, 16) : 0;
    // + 16: the vector copies of pack_im2col may overshoot the block by up to L - 1 floats.
    b_floats = b_kind != B_PACKED ? round_up(imin(Cfg::NC, round_up(n, Cfg::NR)) * kb + 16, 16) : 0;
    tile_floats = round_up(Cfg::MR * Cfg::NR, 16);
    x_floats = 0;
    if (b_kind == B_IM2COL)  // the padded input of one group (+ slack for over-reads)
      x_floats = round_up(conv->in_c / conv->groups * padded_rows(conv) * conv->stride_w * padded_row(conv) + 16, 16);
  }
  size_t bytes() const { return (size_t)(a_floats + b_floats + tile_floats + x_floats) * sizeof(float); }
};

size_t gemm_scratch_bytes(int64_t m, int64_t n, int64_t k, int32_t a_kind, int32_t b_kind, const dlc_conv_params* conv) {
  size_t s0 = Layout<CfgAvx512>(m, n, k, a_kind, b_kind, conv).bytes();
  size_t s1 = Layout<CfgAvx2>(m, n, k, a_kind, b_kind, conv).bytes();
  size_t s2 = Layout<CfgGeneric>(m, n, k, a_kind, b_kind, conv).bytes();
  size_t s = s0 > s1 ? s0 : s1;
  return s > s2 ? s : s2;
}

// Computes C[m0:m1, n0:n1] of one problem (m0 a multiple of MR, n0 of NR).
template <class Cfg>
static void gemm_run(const GemmProblem& p, int64_t m0, int64_t m1, int64_t n0, int64_t n1, float* scratch) {
  enum { MR = Cfg::MR, NR = Cfg::NR, L = Cfg::L };
  const int64_t K = p.k, ldc = p.ldc;
  const Layout<Cfg> lay(p.m, p.n, K, p.a_kind, p.b_kind, p.conv);
  float* abuf = scratch;
  float* bbuf = abuf + lay.a_floats;
  float* tile = bbuf + lay.b_floats;
  float* xbuf = tile + lay.tile_floats;
  if (K == 0) {  // empty sum: the epilogue of zeros
    for (int64_t i = m0; i < m1; i++) memset(p.c + i * ldc + n0, 0, (size_t)(n1 - n0) * sizeof(float));
    apply_epilogue(p.ep, p.c + m0 * ldc + n0, ldc, m0, n0, m1 - m0, n1 - n0);
    return;
  }
  const int64_t nk = ceil_div(K, lay.kb);
  int64_t r0 = 0, rows = 0;
  if (p.b_kind == B_IM2COL) {  // pad the input rows that outputs [n0, n1) read, once per call
    const dlc_conv_params* cp = p.conv;
    r0 = n0 / cp->out_w * cp->stride_h;
    rows = (n1 - 1) / cp->out_w * cp->stride_h + (cp->kernel_h - 1) * cp->dilation_h + 1 - r0;
    build_padded(cp, p.b, cp->in_c / cp->groups, r0, rows, xbuf);
  }
  for (int64_t jc = n0; jc < n1; jc += Cfg::NC) {
    const int64_t nc = imin(Cfg::NC, n1 - jc);
    for (int64_t pc = 0; pc < nk; pc++) {
      const int64_t k0 = pc * lay.kb, kc = imin(lay.kb, K - k0);
      const bool accumulate = pc > 0, last = pc == nk - 1;
      const float* bb;
      int64_t b_stride;
      if (p.b_kind == B_PACKED) {
        bb = p.b + (jc / NR) * K * NR + k0 * NR;
        b_stride = K * NR;
      } else {
        if (p.b_kind == B_STRIDED)
          pack_panels<NR>(p.b + k0 * p.b_rs + jc * p.b_cs, p.b_cs, p.b_rs, nc, kc, bbuf, kc * NR);
        else if (p.b_kind == B_NBITS)
          pack_nbits<NR>(*p.nbits, jc, nc, k0, kc, bbuf, kc * NR);
        else
          pack_im2col<Cfg>(p.conv, xbuf, r0, rows, jc, nc, k0, kc, bbuf);
        bb = bbuf;
        b_stride = kc * NR;
      }
      for (int64_t ic = m0; ic < m1; ic += Cfg::MC) {
        const int64_t mc = imin(Cfg::MC, m1 - ic);
        const float* ab;
        int64_t a_stride;
        if (p.a_kind == A_PACKED) {
          ab = p.a + (ic / MR) * K * MR + k0 * MR;
          a_stride = K * MR;
        } else {
          pack_panels<MR>(p.a + ic * p.a_rs + k0 * p.a_cs, p.a_rs, p.a_cs, mc, kc, abuf, kc * MR);
          ab = abuf;
          a_stride = kc * MR;
        }
        // The A micro-panel (MR x kc) stays in L1 while the B panels of the block stream from L2.
        for (int64_t ir = 0; ir < mc; ir += MR) {
          const int mr = (int)imin(MR, mc - ir);
          const float* ap = ab + (ir / MR) * a_stride;
          for (int64_t jr = 0; jr < nc; jr += NR) {
            const int64_t nr = imin(NR, nc - jr);
            const int nv = (int)ceil_div(nr, L);
            const float* bp = bb + (jr / NR) * b_stride;
            float* cp = p.c + (ic + ir) * ldc + jc + jr;
            if (nr == nv * L) {
              micro_mr<Cfg, MR>(mr, nv, kc, ap, bp, cp, ldc, accumulate);
            } else {  // ragged right edge: full vectors into the tile, then merge the valid columns
              micro_mr<Cfg, MR>(mr, nv, kc, ap, bp, tile, NR, false);
              for (int i = 0; i < mr; i++)
                for (int64_t j = 0; j < nr; j++)
                  cp[i * ldc + j] = accumulate ? cp[i * ldc + j] + tile[i * NR + j] : tile[i * NR + j];
            }
            if (last) apply_epilogue(p.ep, cp, ldc, ic + ir, jc + jr, mr, nr);
          }
        }
      }
    }
  }
}

static void gemm_run_isa(const GemmProblem& p, int64_t m0, int64_t m1, int64_t n0, int64_t n1, float* scratch) {
  if (dlc_cpu_isa == 2)
    gemm_run<CfgAvx512>(p, m0, m1, n0, n1, scratch);
  else if (dlc_cpu_isa == 1)
    gemm_run<CfgAvx2>(p, m0, m1, n0, n1, scratch);
  else
    gemm_run<CfgGeneric>(p, m0, m1, n0, n1, scratch);
}

void pack_a_full(int64_t m, int64_t k, const float* src, int64_t rs, int64_t cs, float* dst) {
  const int64_t mr = isa_mr();
  if (mr == 8)
    pack_panels<8>(src, rs, cs, m, k, dst, k * 8);
  else
    pack_panels<6>(src, rs, cs, m, k, dst, k * 6);
}

void pack_b_full(int64_t n, int64_t k, const float* src, int64_t rs, int64_t cs, float* dst) {
  const int64_t nr = isa_nr();
  if (nr == 48)
    pack_panels<48>(src, cs, rs, n, k, dst, k * 48);
  else if (nr == 16)
    pack_panels<16>(src, cs, rs, n, k, dst, k * 16);
  else
    pack_panels<8>(src, cs, rs, n, k, dst, k * 8);
}

// ---- threads ---------------------------------------------------------------------------------------
// Work units are (problem, M part, N part); parts are whole MR/NR panels so tile boundaries (and
// hence every output's arithmetic) are the same for any thread count.
struct ParallelCtx {
  GemmProblemFn problem;
  const void* ctx;
  int64_t count, m, n, mp, np, tm, tn, units, jobs;
  char* scratch;
  size_t scratch_bytes;
};

static void gemm_job(void* vctx, size_t job) {
  const ParallelCtx& x = *(const ParallelCtx*)vctx;
  const int64_t mr = isa_mr(), nr = isa_nr();
  const int64_t u0 = (int64_t)job * x.units / x.jobs, u1 = ((int64_t)job + 1) * x.units / x.jobs;
  float* scratch = (float*)(x.scratch + job * x.scratch_bytes);
  GemmProblem p;
  int64_t cur = -1;
  for (int64_t u = u0; u < u1; u++) {
    const int64_t idx = u / (x.tm * x.tn), mi = (u / x.tn) % x.tm, ni = u % x.tn;
    if (idx != cur) {
      x.problem(x.ctx, idx, &p);
      cur = idx;
    }
    const int64_t m0 = imin(x.m, mi * x.mp / x.tm * mr), m1 = imin(x.m, (mi + 1) * x.mp / x.tm * mr);
    const int64_t n0 = imin(x.n, ni * x.np / x.tn * nr), n1 = imin(x.n, (ni + 1) * x.np / x.tn * nr);
    if (m0 < m1 && n0 < n1) gemm_run_isa(p, m0, m1, n0, n1, scratch);
  }
}

void gemm_parallel(int64_t count, GemmProblemFn problem, const void* ctx, const GemmProblem& shape,
                   const dlc_cpu_call* call, void* scratch, size_t scratch_bytes) {
  if (count <= 0 || shape.m <= 0 || shape.n <= 0) return;
  const int64_t T = call->threads > 0 ? call->threads : 1;
  const int64_t mr = isa_mr(), nr = isa_nr(), lanes = isa_lanes(), k = shape.k > 0 ? shape.k : 1;
  ParallelCtx x;
  x.problem = problem;
  x.ctx = ctx;
  x.count = count;
  x.m = shape.m;
  x.n = shape.n;
  x.mp = ceil_div(shape.m, mr);
  x.np = ceil_div(shape.n, nr);
  x.scratch = (char*)scratch;
  x.scratch_bytes = scratch_bytes;
  // Pick the split minimizing the busiest job's estimated cost: multiply-adds of its padded tiles
  // plus operand packing (a packed element costs about as much as 8 multiply-add lanes).
  double best = -1.0;
  x.tm = x.tn = 1;
  for (int64_t tm = 1; tm <= T && tm <= x.mp; tm++) {
    for (int64_t tn = 1; tm * tn <= T && tn <= x.np; tn++) {
      const int64_t units = count * tm * tn, jobs = imin(T, units), per = ceil_div(units, jobs);
      // The largest part, counting columns in vectors (an edge panel of 1 column costs 1 vector).
      int64_t max_rows = 0, max_cols = 0;
      for (int64_t i = 0; i < tm; i++)
        max_rows = imax(max_rows, imin(x.m, (i + 1) * x.mp / tm * mr) - imin(x.m, i * x.mp / tm * mr));
      for (int64_t i = 0; i < tn; i++)
        max_cols = imax(max_cols, round_up(imin(x.n, (i + 1) * x.np / tn * nr) - imin(x.n, i * x.np / tn * nr), lanes));
      const double rows = (double)max_rows, cols = (double)max_cols;
      double unit = rows * cols * (double)k + 256.0 * (rows + cols);
      if (shape.a_kind != A_PACKED) unit += 8.0 * rows * (double)k;
      if (shape.b_kind != B_PACKED) unit += 8.0 * cols * (double)k;
      const double cost = (double)per * unit;
      if (best < 0.0 || cost < best * 0.999) {
        best = cost;
        x.tm = tm;
        x.tn = tn;
      }
    }
  }
  x.units = count * x.tm * x.tn;
  x.jobs = imin(T, x.units);
  if (x.jobs == 1)
    gemm_job(&x, 0);
  else
    call->parallel_for(call->runtime, (size_t)x.jobs, gemm_job, &x);
}

}  // namespace dlc_cpu
