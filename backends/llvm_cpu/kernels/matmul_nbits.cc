// MatMulNBits (block-quantized weights) on the blocked GEMM engine: the codes are repacked once at
// load into NR-column panels (still 4 or 8 bits) and decoded slab by slab into the engine's
// packing buffer (B_NBITS), so the weight is never in float as a whole.
#include "gemm.h"

using namespace dlc_cpu;

namespace {

struct NBitsCtx {
  const dlc_matmul_nbits_params* p;
  const float *a, *bias;
  float* y;
  NBitsB w;
};

void nbits_problem(const void* vctx, int64_t, GemmProblem* g) {
  const NBitsCtx& x = *(const NBitsCtx*)vctx;
  g->m = x.p->m;
  g->n = x.p->n;
  g->k = x.p->k;
  g->a_kind = A_STRIDED;
  g->a = x.a;
  g->a_rs = x.p->k;
  g->a_cs = 1;
  g->b_kind = B_NBITS;
  g->b = nullptr;
  g->b_rs = g->b_cs = 0;
  g->conv = nullptr;
  g->nbits = &x.w;
  g->c = x.y;
  g->ldc = x.p->n;
  Epilogue& e = g->ep;
  e.act = DLC_ACT_NONE;
  e.bias_kind = x.bias ? DLC_BIAS_COL : DLC_BIAS_NONE;
  e.alpha = e.beta = 0.0f;
  e.scale = 1.0f;
  e.bias = x.bias;
  e.bias_ld = x.p->n;
  e.res = nullptr;
  e.res_ld = x.p->n;
}

}  // namespace

extern "C" size_t dlc_k_matmul_nbits_packed_bytes(const dlc_matmul_nbits_params* p) {
  return nbits_panels_bytes(p->n, p->k, p->bits);
}

extern "C" void dlc_k_matmul_nbits_pack(const dlc_matmul_nbits_params* p, const uint8_t* b, void* packed) {
  nbits_pack_panels(p->n, p->k, p->block, p->bits, b, (uint8_t*)packed);
}

extern "C" size_t dlc_k_matmul_nbits_scratch_bytes(const dlc_matmul_nbits_params* p) {
  return gemm_scratch_bytes(p->m, p->n, p->k, A_STRIDED, B_NBITS, nullptr);
}

extern "C" void dlc_k_matmul_nbits(const dlc_matmul_nbits_params* p, const float* a, const void* packed, const float* scales,
                                   const void* zero_points, const float* bias, float* y, const dlc_cpu_call* call,
                                   void* scratch) {
  NBitsCtx x;
  x.p = p;
  x.a = a;
  x.bias = p->has_bias ? bias : nullptr;
  x.y = y;
  const int64_t blocks = ceil_div(p->k, p->block);
  x.w.panels = (const uint8_t*)packed;
  x.w.scales = scales;
  x.w.n = p->n;
  x.w.k = p->k;
  x.w.zp_codes = p->zp_kind == DLC_NBITS_ZP_PACKED ? (const uint8_t*)zero_points : nullptr;
  x.w.zp_floats = p->zp_kind == DLC_NBITS_ZP_FLOAT ? (const float*)zero_points : nullptr;
  x.w.block = p->block;
  x.w.blocks = blocks;
  x.w.zp_row_bytes = (blocks * p->bits + 7) / 8;
  x.w.bits = p->bits;
  x.w.reserved = 0;
  GemmProblem shape;
  nbits_problem(&x, 0, &shape);
  gemm_parallel(1, nbits_problem, &x, shape, call, scratch, dlc_k_matmul_nbits_scratch_bytes(p));
}
