// Convolutions with few output pixels: C^T[pixels, out_c] = col^T[pixels, K] x W^T[K, out_c], vectorized over channels.
#include "conv_paths.h"

namespace dlc_cpu {

namespace {

// Tiles: MR output pixels (broadcast from the packed col^T) x NV vectors of output channels (packed
// weights, K x NR column panels). AVX-512 uses 7 pixel rows: 7x7, 14x14 and 28x28 maps split exactly.
struct CtAvx512 { enum { L = 16, MR = 7, NV = 3, NR = 48, KC = 128 }; };
struct CtAvx2 { enum { L = 8, MR = 6, NV = 2, NR = 16, KC = 128 }; };
struct CtGeneric { enum { L = 4, MR = 6, NV = 2, NR = 8, KC = 128 }; };
const int64_t kMaxNRt = 48, kCFloats = 32768;  // C^T chunk budget (floats) per job

int64_t gemm_k(const dlc_conv_params* p) { return p->in_c * p->kernel_h * p->kernel_w; }
int64_t npix(const dlc_conv_params* p) { return p->out_h * p->out_w; }

// Channels per C^T chunk: whole NR panels, about kCFloats floats of C^T.
int64_t chunk_cols(int64_t np, int64_t nr) { return imax(nr, kCFloats / np / nr * nr); }

// The padded plane of one input channel (only when padding or reads past the input are possible).
struct PlaneGeo {
  int64_t ph, pw;
  bool direct;  // read the input channel itself (stride in_w)
};
PlaneGeo plane_geo(const dlc_conv_params* p) {
  PlaneGeo g;
  g.ph = (p->out_h - 1) * p->stride_h + (p->kernel_h - 1) * p->dilation_h + 1;
  g.pw = (p->out_w - 1) * p->stride_w + (p->kernel_w - 1) * p->dilation_w + 1;
  g.direct = p->pad_top == 0 && p->pad_left == 0 && g.ph <= p->in_h && g.pw <= p->in_w;
  return g;
}

template <class Cfg> struct CtLayout {
  int64_t np, astride, a_floats, c_floats, plane_floats, base_floats, cw;
  explicit CtLayout(const dlc_conv_params* p) {
    np = round_up(npix(p), Cfg::MR);
    // col^T panels one cache line apart modulo 4 KiB: packing writes all panels at once.
    astride = round_up(gemm_k(p) * Cfg::MR, 16) + 16;
    a_floats = np / Cfg::MR * astride;
    cw = chunk_cols(np, Cfg::NR);
    c_floats = round_up(np * cw, 16);
    const PlaneGeo g = plane_geo(p);
    plane_floats = g.direct ? 0 : round_up(g.ph * g.pw, 16);
    base_floats = round_up(np + np / Cfg::MR / 4 + 1, 16);  // int32 offsets per pixel, then a byte per panel
  }
  size_t bytes() const { return (size_t)(a_floats + c_floats + plane_floats + base_floats) * sizeof(float); }
};

struct CtCtx {
  const dlc_conv_params* p;
  const float *x, *w, *bias, *res;
  float* y;
  char* scratch;
  size_t scratch_bytes;
  int64_t jobs;
};

// Phase 1: job j packs the col^T panels ([np/MR][K][MR]) of input channels [c0, c1) into the shared
// buffer (job 0's scratch).
template <class Cfg>
void pack_cols(const CtCtx& c, int64_t job) {
  enum { MR = Cfg::MR };
  static_assert(MR >= 4 && MR <= 8, "two overlapping 4-float copies per panel row");
  typedef Vec<4>::T V4;
  typedef Vec<8>::T V8;
  const dlc_conv_params* p = c.p;
  const CtLayout<Cfg> lay(p);
  float* abuf = (float*)c.scratch;
  char* mine = c.scratch + job * c.scratch_bytes;
  float* plane = (float*)mine + lay.a_floats + lay.c_floats;
  int32_t* base = (int32_t*)(plane + lay.plane_floats);
  const PlaneGeo g = plane_geo(p);
  const int64_t C = p->in_c, H = p->in_h, W = p->in_w, KH = p->kernel_h, KW = p->kernel_w;
  const int64_t N = npix(p), OW = p->out_w, ld = g.direct ? W : g.pw;
  for (int64_t i = 0; i < lay.np; i++)
    base[i] = i < N ? (int32_t)((i / OW) * p->stride_h * ld + (i % OW) * p->stride_w) : 0;
  const int64_t c0 = job * C / c.jobs, c1 = (job + 1) * C / c.jobs;
  const int64_t panels = lay.np / MR;
  // Panels whose pixels lie in one output row read a run of stride sw (1 or 2: vector copies).
  char* run = (char*)(base + lay.np);
  for (int64_t pi = 0; pi < panels; pi++) {
    const int64_t i0 = pi * MR, sw = p->stride_w;
    run[pi] = (char)(i0 + MR <= N && i0 / OW == (i0 + MR - 1) / OW && (sw == 1 || sw == 2) ? sw : 0);
  }
  for (int64_t ch = c0; ch < c1; ch++) {
    const float* xc = c.x + ch * H * W;
    const float* src = xc;
    if (!g.direct) {
      for (int64_t r = 0; r < g.ph; r++) {
        const int64_t ih = r - p->pad_top;
        float* __restrict d = plane + r * g.pw;
        if (ih < 0 || ih >= H) {
          for (int64_t t = 0; t < g.pw; t++) d[t] = 0.0f;
          continue;
        }
        const float* __restrict xr = xc + ih * W;
        for (int64_t t = 0; t < g.pw; t++) {
          const int64_t iw = t - p->pad_left;
          d[t] = iw >= 0 && iw < W ? xr[iw] : 0.0f;
        }
      }
      src = plane;
    }
    for (int64_t kh = 0; kh < KH; kh++)
      for (int64_t kw = 0; kw < KW; kw++) {
        const int64_t k = (ch * KH + kh) * KW + kw;
        const float* s = src + kh * p->dilation_h * ld + kw * p->dilation_w;
        for (int64_t pi = 0; pi < panels; pi++) {
          float* __restrict d = abuf + pi * lay.astride + k * MR;
          const int32_t* b = base + pi * MR;
          const int kind = run[pi];
          if (kind == 1) {  // MR consecutive floats: two overlapping 4-float copies (exact)
            DLC_VSTORE(V4, d, DLC_VLOAD(V4, s + b[0]));
            DLC_VSTORE(V4, d + MR - 4, DLC_VLOAD(V4, s + b[0] + MR - 4));
          } else if (kind == 2) {  // every other float: even lanes of two 8-float loads (exact reads)
            const V8 lo = DLC_VLOAD(V8, s + b[0]), hi = DLC_VLOAD(V8, s + b[0] + 2 * MR - 9);
            DLC_VSTORE(V4, d, __builtin_shufflevector(lo, lo, 0, 2, 4, 6));
            DLC_VSTORE(V4, d + MR - 4, __builtin_shufflevector(hi, hi, 1, 3, 5, 7));
          } else {
#pragma unroll
            for (int r = 0; r < MR; r++) d[r] = s[b[r]];
          }
        }
      }
  }
}

// Phase 2: job j computes output channels [j0, j1) (whole vectors) chunk by chunk: for each K block,
// every (pixel tile, channel tile) of the chunk accumulates into C^T; then C^T is written transposed
// to y and the epilogue applied.
template <class Cfg>
void compute(const CtCtx& c, int64_t job, int64_t batch) {
  enum { MR = Cfg::MR, NR = Cfg::NR, L = Cfg::L };
  const dlc_conv_params* p = c.p;
  const CtLayout<Cfg> lay(p);
  const float* abuf = (const float*)c.scratch;
  float* ct = (float*)(c.scratch + job * c.scratch_bytes) + lay.a_floats;
  const int64_t M = p->out_c, N = npix(p), K = gemm_k(p), cw = lay.cw;
  const int64_t vecs = ceil_div(M, L);
  const int64_t j0 = job * vecs / c.jobs * L, j1 = imin(M, (job + 1) * vecs / c.jobs * L);
  const int64_t nk = ceil_div(K, Cfg::KC), kb = ceil_div(K, nk);
  float* yb = c.y + batch * M * N;
  Epilogue e;
  e.act = p->ep.act;
  e.bias_kind = c.bias ? DLC_BIAS_ROW : DLC_BIAS_NONE;
  e.alpha = p->ep.alpha;
  e.beta = p->ep.beta;
  e.scale = 1.0f;
  e.bias = c.bias;
  e.bias_ld = 0;
  e.res = c.res ? c.res + batch * M * N : nullptr;
  e.res_ld = N;
  for (int64_t a = j0; a < j1;) {
    const int64_t b = imin(j1, (a / cw + 1) * cw);  // chunk [a, b)
    for (int64_t k0 = 0; k0 < K; k0 += kb) {
      const int64_t kc = imin(kb, K - k0);
      const bool acc = k0 > 0;
      for (int64_t s0 = a; s0 < b;) {
        const int64_t s1 = imin(b, (s0 / NR + 1) * NR);  // inside one weight panel
        const int nv = (int)ceil_div(s1 - s0, L);
        const float* bp = c.w + (s0 / NR) * K * NR + k0 * NR + s0 % NR;
        for (int64_t i0 = 0; i0 < N; i0 += MR) {
          const int mr = (int)imin(MR, N - i0);
          const float* ap = abuf + (i0 / MR) * lay.astride + k0 * MR;
          micro_mr<Cfg, MR>(mr, nv, kc, ap, bp, ct + i0 * cw + (s0 - a), cw, acc);
        }
        s0 = s1;
      }
    }
    // y[ch][i] = C^T[i][ch - a], then the epilogue on the rows just written (still in cache).
    for (int64_t ch = a; ch < b; ch++) {
      float* __restrict yr = yb + ch * N;
      const float* __restrict col = ct + (ch - a);
      for (int64_t i = 0; i < N; i++) yr[i] = col[i * cw];
    }
    apply_epilogue(e, yb + a * N, N, a, 0, b - a, N);
    a = b;
  }
}

void pack_job(void* v, size_t j) {
  if (dlc_cpu_isa == 2) pack_cols<CtAvx512>(*(const CtCtx*)v, (int64_t)j);
  else if (dlc_cpu_isa == 1) pack_cols<CtAvx2>(*(const CtCtx*)v, (int64_t)j);
  else pack_cols<CtGeneric>(*(const CtCtx*)v, (int64_t)j);
}

struct RunCtx {
  const CtCtx* c;
  int64_t batch;
};
void compute_job(void* v, size_t j) {
  const RunCtx& r = *(const RunCtx*)v;
  if (dlc_cpu_isa == 2) compute<CtAvx512>(*r.c, (int64_t)j, r.batch);
  else if (dlc_cpu_isa == 1) compute<CtAvx2>(*r.c, (int64_t)j, r.batch);
  else compute<CtGeneric>(*r.c, (int64_t)j, r.batch);
}

int64_t isa_nr_t() { return dlc_cpu_isa == 2 ? CtAvx512::NR : dlc_cpu_isa == 1 ? CtAvx2::NR : CtGeneric::NR; }
int64_t isa_l_t() { return dlc_cpu_isa == 2 ? CtAvx512::L : dlc_cpu_isa == 1 ? CtAvx2::L : CtGeneric::L; }

}  // namespace

// Shape-only choice (the same for packing and running, and for sizes computed on the host).
bool ct_ok(const dlc_conv_params* p) {
  if (p->groups != 1 || p->in_c == p->groups) return false;
  const int64_t n = npix(p);
  return n <= 256 && p->out_c >= 16 && gemm_k(p) >= 16 && n * gemm_k(p) <= ((int64_t)1 << 26);
}

size_t ct_packed_bytes(const dlc_conv_params* p) {
  return (size_t)(round_up(p->out_c, kMaxNRt) * gemm_k(p)) * sizeof(float);
}

void ct_pack(const dlc_conv_params* p, const float* weight, void* packed) {
  const int64_t K = gemm_k(p), nr = isa_nr_t(), M = p->out_c;
  float* dst = (float*)packed;
  // Panels [ceil(M/NR)][K][NR] of W^T[k][o] = weight[o*K + k], zero past M.
  for (int64_t o0 = 0; o0 < M; o0 += nr) {
    const int64_t w = imin(nr, M - o0);
    float* d = dst + (o0 / nr) * K * nr;
    for (int64_t i = 0; i < w; i++) {
      const float* __restrict s = weight + (o0 + i) * K;
      for (int64_t k = 0; k < K; k++) d[k * nr + i] = s[k];
    }
    for (int64_t i = w; i < nr; i++)
      for (int64_t k = 0; k < K; k++) d[k * nr + i] = 0.0f;
  }
}

size_t ct_scratch_bytes(const dlc_conv_params* p) {
  const size_t a = CtLayout<CtAvx512>(p).bytes(), b = CtLayout<CtAvx2>(p).bytes(), g = CtLayout<CtGeneric>(p).bytes();
  const size_t m = a > b ? a : b;
  return m > g ? m : g;
}

void ct_run(const dlc_conv_params* p, const float* x, const void* packed, const float* bias, const float* residual,
            float* y, const dlc_cpu_call* call, void* scratch) {
  const int64_t T = call->threads > 0 ? call->threads : 1;
  CtCtx c;
  c.p = p;
  c.w = (const float*)packed;
  c.bias = bias;
  c.scratch = (char*)scratch;
  c.scratch_bytes = ct_scratch_bytes(p);
  const int64_t in_plane = p->in_c * p->in_h * p->in_w;
  const int64_t pack_jobs = imin(T, p->in_c), run_jobs = imin(T, ceil_div(p->out_c, isa_l_t()));
  for (int64_t b = 0; b < p->batch; b++) {
    c.x = x + b * in_plane;
    c.res = residual;
    c.y = y;
    c.jobs = pack_jobs;
    if (pack_jobs == 1) pack_job(&c, 0);
    else call->parallel_for(call->runtime, (size_t)pack_jobs, pack_job, &c);
    c.jobs = run_jobs;
    RunCtx r{&c, b};
    if (run_jobs == 1) compute_job(&r, 0);
    else call->parallel_for(call->runtime, (size_t)run_jobs, compute_job, &r);
  }
}

}  // namespace dlc_cpu
