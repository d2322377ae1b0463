// 2-D convolution (NCHW, OIHW): GEMM per group over im2col panels, plus a direct depthwise kernel.
#include "conv_paths.h"

using namespace dlc_cpu;

namespace {

// One input channel per group (depthwise, channel multiplier >= 1): a GEMM would have K = kh*kw,
// far too short to amortize C traffic, so these run a direct kernel over a padded input plane.
// Only where the model has such convolutions (dlc_cpu_conv_paths, a link-time constant): otherwise
// they would take the GEMM path, correctly, and the direct kernels are not compiled in.
bool is_direct(const dlc_conv_params* p) {
  return (dlc_cpu_conv_paths & DLC_CONV_PATH_DIRECT) && p->groups > 0 && p->in_c == p->groups;
}

// Few output pixels: the GEMM transposed, vectorized over output channels (same gating).
bool use_ct(const dlc_conv_params* p) { return (dlc_cpu_conv_paths & DLC_CONV_PATH_FEW_PIXELS) && ct_ok(p); }

// 1x1, stride 1, no padding: the GEMM's B matrix is the input itself ([in_c][h*w]).
bool is_pointwise(const dlc_conv_params* p) {
  return p->kernel_h == 1 && p->kernel_w == 1 && p->stride_h == 1 && p->stride_w == 1 && p->pad_top == 0 &&
         p->pad_left == 0 && p->out_h == p->in_h && p->out_w == p->in_w;
}

Epilogue conv_epilogue(const dlc_conv_params* p, const float* bias, const float* res, int64_t res_ld) {
  Epilogue e;
  e.act = p->ep.act;
  e.bias_kind = bias && p->ep.bias_kind != DLC_BIAS_NONE ? DLC_BIAS_ROW : DLC_BIAS_NONE;
  e.alpha = p->ep.alpha;
  e.beta = p->ep.beta;
  e.scale = 1.0f;
  e.bias = bias;
  e.bias_ld = 0;
  e.res = p->ep.has_residual ? res : nullptr;
  e.res_ld = res_ld;
  return e;
}

// ---- GEMM path: y_g[Mg][oh*ow] = W_g[Mg][Cg*kh*kw] * im2col(x_g) ---------------------------------
struct ConvCtx {
  const dlc_conv_params* p;
  const float *x, *w, *bias, *res;
  float* y;
  int64_t mg, cg, k, n, w_group_floats;
  bool pointwise;
};

void conv_problem(const void* vctx, int64_t idx, GemmProblem* g) {
  const ConvCtx& c = *(const ConvCtx*)vctx;
  const dlc_conv_params* p = c.p;
  const int64_t b = idx / p->groups, grp = idx % p->groups;
  g->m = c.mg;
  g->n = c.n;
  g->k = c.k;
  g->a_kind = A_PACKED;
  g->a = c.w + grp * c.w_group_floats;
  g->a_rs = g->a_cs = 0;
  g->b = c.x + (b * p->in_c + grp * c.cg) * p->in_h * p->in_w;
  g->b_kind = c.pointwise ? B_STRIDED : B_IM2COL;
  g->b_rs = p->in_h * p->in_w;
  g->b_cs = 1;
  g->conv = p;
  const int64_t off = (b * p->out_c + grp * c.mg) * c.n;
  g->c = c.y + off;
  g->ldc = c.n;
  g->ep = conv_epilogue(p, c.bias ? c.bias + grp * c.mg : nullptr, c.res ? c.res + off : nullptr, c.n);
}

int64_t group_rows(const dlc_conv_params* p) { return p->out_c / p->groups; }
int64_t gemm_k(const dlc_conv_params* p) { return p->in_c / p->groups * p->kernel_h * p->kernel_w; }

// ---- direct depthwise path ------------------------------------------------------------------------
// The input channel is copied once into a zero-padded, column-phase-split plane (build_padded), so
// every tap reads a unit-stride run. Lanes past out_w read into the next row or the plane's slack
// and are never stored.
struct Plane {
  int64_t ph, rl;  // padded rows, floats per phase row
};

Plane plane_dims(const dlc_conv_params* p) { return Plane{padded_rows(p), padded_row(p)}; }

// R output rows x G vectors of L columns per step: R*G independent accumulators hide FMA latency.
template <int L, int G, int R>
DLC_INLINE void dw_rows(const dlc_conv_params* p, const Plane& d, const float* plane, const float* w, float* yc,
                        int64_t i0) {
  typedef typename Vec<L>::T V;
  const int64_t OW = p->out_w, KH = p->kernel_h, KW = p->kernel_w, sw = p->stride_w;
  const int64_t sh = p->stride_h, dh = p->dilation_h, dw = p->dilation_w;
  for (int64_t j0 = 0; j0 < OW; j0 += G * L) {
    V acc[R][G];
#pragma unroll
    for (int r = 0; r < R; r++)
#pragma unroll
      for (int g = 0; g < G; g++) acc[r][g] = (V)0.0f;
    for (int64_t kh = 0; kh < KH; kh++) {
      const float* rows[R];
#pragma unroll
      for (int r = 0; r < R; r++) rows[r] = plane + ((i0 + r) * sh + kh * dh) * sw * d.rl + j0;
      int64_t phase = 0, q = 0;  // (kw*dw) % sw and (kw*dw) / sw, kept without divisions
      for (int64_t kw = 0; kw < KW; kw++) {
        const int64_t tap = phase * d.rl + q;
        phase += dw;
        while (phase >= sw) {
          phase -= sw;
          q++;
        }
        const V wv = w[kh * KW + kw];
#pragma unroll
        for (int r = 0; r < R; r++)
#pragma unroll
          for (int g = 0; g < G; g++)
            acc[r][g] = __builtin_elementwise_fma(wv, DLC_VLOAD(V, rows[r] + tap + g * L), acc[r][g]);
      }
    }
#pragma unroll
    for (int r = 0; r < R; r++) {
      float* yr = yc + (i0 + r) * OW;
#pragma unroll
      for (int g = 0; g < G; g++) {
        const int64_t j = j0 + g * L;
        if (j + L <= OW) {
          DLC_VSTORE(V, yr + j, acc[r][g]);
        } else if (j < OW) {
          float tmp[L];
          DLC_VSTORE(V, tmp, acc[r][g]);
          for (int64_t t = 0; t < OW - j; t++) yr[j + t] = tmp[t];
        }
      }
    }
  }
}

template <int L, int G>
DLC_INLINE void dw_channel_lg(const dlc_conv_params* p, const Plane& d, const float* plane, const float* w, float* yc) {
  enum { R = G >= 4 ? 1 : 4 / G };
  int64_t i = 0;
  for (; i + R <= p->out_h; i += R) dw_rows<L, G, R>(p, d, plane, w, yc, i);
  for (; i < p->out_h; i++) dw_rows<L, G, 1>(p, d, plane, w, yc, i);
}

template <int L>
DLC_INLINE void dw_channel_l(const dlc_conv_params* p, const Plane& d, const float* plane, const float* w, float* yc) {
  const int64_t g = imin(4, ceil_div(p->out_w, L));
  if (g == 1) dw_channel_lg<L, 1>(p, d, plane, w, yc);
  else if (g == 2) dw_channel_lg<L, 2>(p, d, plane, w, yc);
  else if (g == 3) dw_channel_lg<L, 3>(p, d, plane, w, yc);
  else dw_channel_lg<L, 4>(p, d, plane, w, yc);
}

// Narrow outputs (<= 8 columns) use 8-lane vectors even on AVX-512 to waste fewer lanes.
void dw_channel(const dlc_conv_params* p, const Plane& d, const float* plane, const float* w, float* yc) {
  if (dlc_cpu_isa == 2 && p->out_w > 8)
    dw_channel_l<16>(p, d, plane, w, yc);
  else if (dlc_cpu_isa >= 1)
    dw_channel_l<8>(p, d, plane, w, yc);
  else
    dw_channel_l<4>(p, d, plane, w, yc);
}

struct DwCtx {
  const dlc_conv_params* p;
  const float *x, *w, *bias, *res;
  float* y;
  char* scratch;
  size_t scratch_bytes;
  int64_t units, jobs;
};

void dw_job(void* vctx, size_t job) {
  const DwCtx& c = *(const DwCtx*)vctx;
  const dlc_conv_params* p = c.p;
  const Plane d = plane_dims(p);
  float* plane = (float*)(c.scratch + job * c.scratch_bytes);
  const int64_t mult = p->out_c / p->groups, plane_out = p->out_h * p->out_w, taps = p->kernel_h * p->kernel_w;
  const int64_t u0 = (int64_t)job * c.units / c.jobs, u1 = ((int64_t)job + 1) * c.units / c.jobs;
  if (dw_fast_ok(p)) {
    dw_fast_job(p, c.x, c.w, conv_epilogue(p, c.bias, c.res, plane_out), c.y, (float*)(c.scratch + job * c.scratch_bytes),
                u0, u1);
    return;
  }
  int64_t built = -1;
  for (int64_t u = u0; u < u1; u++) {  // u = (batch, output channel)
    const int64_t b = u / p->out_c, o = u % p->out_c, ic = b * p->in_c + o / mult;
    if (ic != built) {  // channels of one multiplier group share the plane
      build_padded(p, c.x + ic * p->in_h * p->in_w, 1, 0, d.ph, plane);
      built = ic;
    }
    float* yc = c.y + u * plane_out;
    dw_channel(p, d, plane, c.w + o * taps, yc);
    const Epilogue e = conv_epilogue(p, c.bias, c.res ? c.res + b * p->out_c * plane_out : nullptr, plane_out);
    apply_epilogue(e, yc, plane_out, o, 0, 1, plane_out);
  }
}

}  // namespace

extern "C" size_t dlc_k_conv_packed_bytes(const dlc_conv_params* p) {
  if (is_direct(p)) return (size_t)(p->out_c * p->kernel_h * p->kernel_w) * sizeof(float);
  if (use_ct(p)) return ct_packed_bytes(p);
  // Per group, MR-row panels over K; the largest MR rounding of any ISA (sizes may come from the host).
  const int64_t mg = group_rows(p);
  const int64_t rows = imax(round_up(mg, CfgAvx512::MR), imax(round_up(mg, CfgAvx2::MR), round_up(mg, CfgGeneric::MR)));
  return (size_t)(p->groups * rows * gemm_k(p)) * sizeof(float);
}

extern "C" void dlc_k_conv_pack(const dlc_conv_params* p, const float* weight, void* packed) {
  if (is_direct(p)) {
    memcpy(packed, weight, dlc_k_conv_packed_bytes(p));
    return;
  }
  if (use_ct(p)) return ct_pack(p, weight, packed);
  const int64_t mg = group_rows(p), k = gemm_k(p), group_floats = round_up(mg, isa_mr()) * k;
  for (int64_t g = 0; g < p->groups; g++) pack_a_full(mg, k, weight + g * mg * k, k, 1, (float*)packed + g * group_floats);
}

extern "C" size_t dlc_k_conv_scratch_bytes(const dlc_conv_params* p) {
  if (is_direct(p)) {
    const Plane d = plane_dims(p);
    const size_t generic = (size_t)(d.ph * p->stride_w * d.rl + 64);  // + slack for vector over-reads
    const size_t fast = dw_fast_ok(p) ? dw_fast_scratch_floats(p) : 0;
    return (generic > fast ? generic : fast) * sizeof(float);
  }
  if (use_ct(p)) return ct_scratch_bytes(p);
  return gemm_scratch_bytes(group_rows(p), p->out_h * p->out_w, gemm_k(p), A_PACKED,
                            is_pointwise(p) ? B_STRIDED : B_IM2COL, p);
}

extern "C" void dlc_k_conv(const dlc_conv_params* p, const float* x, const void* packed_weight, const float* bias,
                           const float* residual, float* y, const dlc_cpu_call* call, void* scratch) {
  if (p->batch <= 0 || p->out_c <= 0 || p->out_h <= 0 || p->out_w <= 0) return;
  if (!p->ep.has_residual) residual = nullptr;
  if (p->ep.bias_kind == DLC_BIAS_NONE) bias = nullptr;
  if (is_direct(p)) {
    DwCtx c{p, x, (const float*)packed_weight, bias, residual, y, (char*)scratch, dlc_k_conv_scratch_bytes(p), 0, 0};
    c.units = p->batch * p->out_c;
    c.jobs = imin(imax(call->threads, 1), c.units);
    if (c.jobs == 1)
      dw_job(&c, 0);
    else
      call->parallel_for(call->runtime, (size_t)c.jobs, dw_job, &c);
    return;
  }
  if (use_ct(p)) return ct_run(p, x, packed_weight, bias, residual, y, call, scratch);
  ConvCtx c;
  c.p = p;
  c.x = x;
  c.w = (const float*)packed_weight;
  c.bias = bias;
  c.res = residual;
  c.y = y;
  c.mg = group_rows(p);
  c.cg = p->in_c / p->groups;
  c.k = gemm_k(p);
  c.n = p->out_h * p->out_w;
  c.w_group_floats = round_up(c.mg, isa_mr()) * c.k;
  c.pointwise = is_pointwise(p);
  GemmProblem shape;
  conv_problem(&c, 0, &shape);
  gemm_parallel(p->batch * p->groups, conv_problem, &c, shape, call, scratch, dlc_k_conv_scratch_bytes(p));
}
