// Convolution by a pruned (mostly zero) weight (kernels.h): no im2col. A band of output rows reads a
// band of input rows, copied once, zero-padded and split by stride phase, so that input
// x[ic][oy·sh + kh·dh - pt][ox·sw + kw·dw - pl] is plane (phase, ic) at row oy - r0 + kh·dh / sh,
// column ox + kw·dw / sw. On a grid of grid_w columns per row each tap is then one constant offset
// from the output position's index, and kSparseTile consecutive positions of an output channel are
// sparse_dot over the channel's nonzero taps: one broadcast and contiguous loads per nonzero.
// Positions past out_w on each grid row are computed and dropped (grid_w - out_w of grid_w, e.g.
// 2 of 58 for a 3x3 convolution on 56x56).
#include "sparse_dot.h"

using namespace dlc_cpu;

namespace {

constexpr int64_t kTile = 64;  // positions per sparse_dot: each nonzero's broadcast feeds 4 AVX-512 FMAs
constexpr int64_t kSlack = 2 * kTile;  // the last tile's dropped positions read past the last plane

struct Packed {
  const int32_t* starts;   // [out_c + 1]
  const int32_t* offsets;  // [nnz]
  const float* values;     // [nnz]
};

Packed view(const dlc_conv_sparse_params* p, const void* packed) {
  const int32_t* starts = (const int32_t*)packed;
  const int32_t* offsets = starts + p->conv.out_c + 1;
  return Packed{starts, offsets, (const float*)(offsets + p->nnz)};
}

int64_t band_floats(const dlc_conv_sparse_params* p) { return (int64_t)p->phases * p->conv.in_c * p->band_plane + kSlack; }

struct Ctx {
  const dlc_conv_sparse_params* p;
  const float* x;
  Packed w;
  const float* bias;
  const float* res;
  float* y;
  char* scratch;
  size_t scratch_bytes;
  int64_t bands, n_chunks, items, jobs;
};

// The band of input rows output rows [r0, r0 + band_rows) read, as phase planes (zero where the
// padded input is padding).
void fill_band(const dlc_conv_sparse_params* p, const float* x, int64_t r0, float* band) {
  const dlc_conv_params& c = p->conv;
  const int64_t rows = p->band_plane / p->grid_w, gw = p->grid_w;
  for (int64_t qy = 0; qy < c.stride_h; ++qy)
    for (int64_t qx = 0; qx < c.stride_w; ++qx) {
      const int32_t slot = p->phase_slot[qy * c.stride_w + qx];
      if (slot < 0) continue;
      for (int64_t ic = 0; ic < c.in_c; ++ic) {
        const float* plane = x + ic * c.in_h * c.in_w;
        float* dst = band + ((int64_t)slot * c.in_c + ic) * p->band_plane;
        for (int64_t r = 0; r < rows; ++r, dst += gw) {
          const int64_t iy = (r0 + r) * c.stride_h + qy - c.pad_top;
          if (iy < 0 || iy >= c.in_h) {
            memset(dst, 0, (size_t)gw * sizeof(float));
            continue;
          }
          const float* src = plane + iy * c.in_w;
          // Column g reads ix = g·sw + qx - pl: zero before ix 0, the row, zero from in_w.
          const int64_t first = imin(gw, imax(0, ceil_div(c.pad_left - qx, c.stride_w)));
          const int64_t last = imax(first, imin(gw, ceil_div(c.in_w + c.pad_left - qx, c.stride_w)));
          for (int64_t g = 0; g < first; ++g) dst[g] = 0.0f;
          const float* s = src + first * c.stride_w + qx - c.pad_left;
          if (c.stride_w == 1) memcpy(dst + first, s, (size_t)(last - first) * sizeof(float));
          else
            for (int64_t g = first; g < last; ++g) dst[g] = s[(g - first) * c.stride_w];
          for (int64_t g = last; g < gw; ++g) dst[g] = 0.0f;
        }
      }
    }
  memset(band + band_floats(p) - kSlack, 0, kSlack * sizeof(float));
}

// Output channels [n0, n1) of output rows [r0, r0 + rb) of one image, from its filled band.
template <int L>
DLC_INLINE void band_tiles(const Ctx& x, const float* band, int64_t b, int64_t r0, int64_t rb, int64_t n0, int64_t n1, float* yt) {
  const dlc_conv_params& c = x.p->conv;
  const int64_t gw = x.p->grid_w, ow = c.out_w, hw = c.out_h * c.out_w, positions = rb * gw;
  float* y = x.y + b * c.out_c * hw;
  Epilogue ep;
  ep.act = c.ep.act;
  ep.bias_kind = x.bias ? c.ep.bias_kind : DLC_BIAS_NONE;
  ep.alpha = c.ep.alpha;
  ep.beta = c.ep.beta;
  ep.scale = c.ep.scale;
  ep.bias = x.bias;
  ep.bias_ld = hw;
  ep.res = c.ep.has_residual && x.res ? x.res + b * c.out_c * hw : nullptr;
  ep.res_ld = hw;
  for (int64_t p0 = 0; p0 < positions; p0 += kTile) {
    const int64_t pt = imin(kTile, positions - p0);
    for (int64_t n = n0; n < n1; ++n) sparse_dot<L, kTile>(x.w.offsets, x.w.values, x.w.starts[n], x.w.starts[n + 1], band + p0, yt + (n - n0) * kTile);
    // The tile's kept positions (grid column < out_w) are consecutive outputs [first, first + kept),
    // in runs of at most out_w (one per grid row the tile touches), each copied contiguously.
    int32_t run_at[kTile], run_len[kTile];
    int64_t runs = 0, kept = 0;
    for (int64_t i = 0; i < pt;) {
      const int64_t g = (p0 + i) % gw;
      if (g >= ow) {
        i += gw - g;
        continue;
      }
      const int64_t len = imin(ow - g, pt - i);
      run_at[runs] = (int32_t)i, run_len[runs++] = (int32_t)len;
      kept += len;
      i += len;
    }
    if (!kept) continue;
    const int64_t first = (r0 + (p0 + run_at[0]) / gw) * ow + (p0 + run_at[0]) % gw;
    for (int64_t n = n0; n < n1; ++n) {
      const float* src = yt + (n - n0) * kTile;
      float* dst = y + n * hw + first;
      for (int64_t r = 0; r < runs; ++r, dst += run_len[r - 1]) memcpy(dst, src + run_at[r], (size_t)run_len[r] * sizeof(float));
    }
    apply_epilogue(ep, y + n0 * hw + first, hw, n0, first, n1 - n0, kept);
  }
}

// Job j runs items [j·items/jobs, (j+1)·items/jobs), item = (image, band, output-channel chunk).
void job(void* vctx, size_t j) {
  const Ctx& x = *(const Ctx*)vctx;
  const dlc_conv_params& c = x.p->conv;
  float* band = (float*)(x.scratch + (size_t)j * x.scratch_bytes);
  float* yt = band + band_floats(x.p);
  const int64_t from = (int64_t)j * x.items / x.jobs, to = ((int64_t)j + 1) * x.items / x.jobs;
  const int64_t chunk = ceil_div(c.out_c, x.n_chunks);
  int64_t filled = -1;  // the (image, band) in the scratch
  for (int64_t item = from; item < to; ++item) {
    const int64_t ib = item / x.n_chunks, q = item % x.n_chunks;
    const int64_t b = ib / x.bands, r0 = ib % x.bands * x.p->band_rows;
    const int64_t n0 = q * chunk, n1 = imin(c.out_c, n0 + chunk);
    if (n0 >= n1) continue;
    if (ib != filled) {
      fill_band(x.p, x.x + b * c.in_c * c.in_h * c.in_w, r0, band);
      filled = ib;
    }
    const int64_t rb = imin(x.p->band_rows, c.out_h - r0);
    if (dlc_cpu_isa == 2) band_tiles<16>(x, band, b, r0, rb, n0, n1, yt);
    else if (dlc_cpu_isa == 1) band_tiles<8>(x, band, b, r0, rb, n0, n1, yt);
    else band_tiles<4>(x, band, b, r0, rb, n0, n1, yt);
  }
}

}  // namespace

extern "C" size_t dlc_k_conv_sparse_packed_bytes(const dlc_conv_sparse_params* p) {
  return (size_t)(p->conv.out_c + 1 + p->nnz) * sizeof(int32_t) + (size_t)p->nnz * sizeof(float);
}

// Never writes past nnz entries, whatever the weight holds.
extern "C" void dlc_k_conv_sparse_pack(const dlc_conv_sparse_params* p, const float* w, void* packed) {
  const dlc_conv_params& c = p->conv;
  int32_t* starts = (int32_t*)packed;
  int32_t* offsets = starts + c.out_c + 1;
  float* values = (float*)(offsets + p->nnz);
  int64_t e = 0;
  for (int64_t oc = 0; oc < c.out_c; ++oc) {
    starts[oc] = (int32_t)e;
    for (int64_t ic = 0; ic < c.in_c; ++ic)
      for (int64_t kh = 0; kh < c.kernel_h; ++kh)
        for (int64_t kw = 0; kw < c.kernel_w && e < p->nnz; ++kw) {
          const float v = w[((oc * c.in_c + ic) * c.kernel_h + kh) * c.kernel_w + kw];
          if (v == 0.0f) continue;
          const int64_t dy = kh * c.dilation_h, dx = kw * c.dilation_w;
          const int64_t slot = p->phase_slot[dy % c.stride_h * c.stride_w + dx % c.stride_w];
          offsets[e] = (int32_t)((slot * c.in_c + ic) * p->band_plane + dy / c.stride_h * p->grid_w + dx / c.stride_w);
          values[e++] = v;
        }
  }
  starts[c.out_c] = (int32_t)e;
}

extern "C" size_t dlc_k_conv_sparse_scratch_bytes(const dlc_conv_sparse_params* p) {
  return (size_t)(band_floats(p) + p->conv.out_c * kTile) * sizeof(float);
}

extern "C" void dlc_k_conv_sparse(const dlc_conv_sparse_params* p, const float* x, const void* packed_w, const float* bias,
                                  const float* residual, float* y, const dlc_cpu_call* call, void* scratch) {
  Ctx ctx{p, x, view(p, packed_w), bias, residual, y, (char*)scratch, dlc_k_conv_sparse_scratch_bytes(p), 0, 1, 0, 1};
  ctx.bands = ceil_div(p->conv.out_h, p->band_rows);
  const int64_t threads = imax(1, call->threads), bands = imax(1, p->conv.batch) * ctx.bands;
  // Few bands: split the output channels too, so every thread has work.
  if (bands < threads) ctx.n_chunks = imin(ceil_div(threads, bands), imax(1, p->conv.out_c / 16));
  ctx.items = bands * ctx.n_chunks;
  ctx.jobs = imin(threads, ctx.items);
  if (ctx.jobs <= 1) job(&ctx, 0);
  else call->parallel_for(call->runtime, (size_t)ctx.jobs, job, &ctx);
}
