// Batched MatMul / Gemm / FusedMatMul kernel on top of the blocked GEMM engine (gemm.cc).
#include "gemm.h"

using namespace dlc_cpu;

namespace {

// B[k][n] = src[k*rs + n*cs] for the [K, N] or (trans_b) [N, K] source.
void b_strides(const dlc_matmul_params* p, int64_t* rs, int64_t* cs) {
  if (p->trans_b) {
    *rs = 1;
    *cs = p->k;
  } else {
    *rs = p->n;
    *cs = 1;
  }
}

struct MatmulCtx {
  const dlc_matmul_params* p;
  const float *a, *b, *bias, *res;
  float* c;
};

void matmul_problem(const void* vctx, int64_t bi, GemmProblem* g) {
  const MatmulCtx& x = *(const MatmulCtx*)vctx;
  const dlc_matmul_params* p = x.p;
  g->m = p->m;
  g->n = p->n;
  g->k = p->k;
  g->a_kind = A_STRIDED;
  g->a = x.a + bi * p->a_batch_stride;
  g->a_rs = p->trans_a ? 1 : p->k;
  g->a_cs = p->trans_a ? p->m : 1;
  if (p->b_packed) {
    g->b_kind = B_PACKED;
    g->b = x.b;
    g->b_rs = g->b_cs = 0;
  } else {
    g->b_kind = B_STRIDED;
    g->b = x.b + bi * p->b_batch_stride;
    b_strides(p, &g->b_rs, &g->b_cs);
  }
  g->conv = nullptr;
  g->c = x.c + bi * p->c_batch_stride;
  g->ldc = p->n;
  Epilogue& e = g->ep;
  e.act = p->ep.act;
  e.bias_kind = x.bias ? p->ep.bias_kind : DLC_BIAS_NONE;
  e.alpha = p->ep.alpha;
  e.beta = p->ep.beta;
  e.scale = p->ep.scale;
  e.bias = e.bias_kind == DLC_BIAS_FULL ? x.bias + bi * p->bias_batch_stride : x.bias;
  e.bias_ld = p->n;
  e.res = p->ep.has_residual && x.res ? x.res + bi * p->c_batch_stride : nullptr;
  e.res_ld = p->n;
}

}  // namespace

extern "C" size_t dlc_k_matmul_packed_b_bytes(const dlc_matmul_params* p) {
  // The largest of the ISA layouts ([ceil(n/NR)][k][NR]), so the size is valid whatever the target.
  const int64_t n = imax(round_up(p->n, CfgAvx512::NR), imax(round_up(p->n, CfgAvx2::NR), round_up(p->n, CfgGeneric::NR)));
  return (size_t)(n * p->k) * sizeof(float);
}

extern "C" void dlc_k_matmul_pack_b(const dlc_matmul_params* p, const float* b, void* packed) {
  int64_t rs, cs;
  b_strides(p, &rs, &cs);
  pack_b_full(p->n, p->k, b, rs, cs, (float*)packed);
}

extern "C" size_t dlc_k_matmul_scratch_bytes(const dlc_matmul_params* p) {
  return gemm_scratch_bytes(p->m, p->n, p->k, A_STRIDED, p->b_packed ? B_PACKED : B_STRIDED, nullptr);
}

extern "C" void dlc_k_matmul(const dlc_matmul_params* p, const float* a, const void* b, const float* bias,
                             const float* residual, float* c, const dlc_cpu_call* call, void* scratch) {
  MatmulCtx x{p, a, (const float*)b, bias, residual, c};
  GemmProblem shape;
  matmul_problem(&x, 0, &shape);
  gemm_parallel(p->batch, matmul_problem, &x, shape, call, scratch, dlc_k_matmul_scratch_bytes(p));
}
