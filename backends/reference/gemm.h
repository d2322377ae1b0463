// The reference backend's matrix multiply, shared by MatMul, Gemm, Conv (im2col) and the RNNs.
#pragma once

#include <cstdint>

namespace dlc::ref {

// C[M,N] = alpha * op(A)[M,K] * op(B)[K,N] + beta * C, row-major with leading dimensions.
// op(X) is X or its transpose. Written for clarity with a cache-friendly loop order, not peak speed.
void gemmF32(bool trans_a, bool trans_b, int64_t m, int64_t n, int64_t k, float alpha, const float* a,
             int64_t lda, const float* b, int64_t ldb, float beta, float* c, int64_t ldc);
void gemmF64(bool trans_a, bool trans_b, int64_t m, int64_t n, int64_t k, double alpha, const double* a,
             int64_t lda, const double* b, int64_t ldb, double beta, double* c, int64_t ldc);

}  // namespace dlc::ref
