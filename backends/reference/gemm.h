// The reference backend's matrix multiply, shared by MatMul, Gemm, Conv (im2col) and the RNNs.
#pragma once

#include <cstddef>
#include <cstdint>

namespace dlc::ref {

// C[M,N] = alpha * op(A)[M,K] * op(B)[K,N] + beta * C, row-major with leading dimensions.
// op(X) is X or its transpose. Written for clarity with a cache-friendly loop order, not peak speed.
void gemmF32(bool trans_a, bool trans_b, int64_t m, int64_t n, int64_t k, float alpha, const float* a,
             int64_t lda, const float* b, int64_t ldb, float beta, float* c, int64_t ldc);
void gemmF64(bool trans_a, bool trans_b, int64_t m, int64_t n, int64_t k, double alpha, const double* a,
             int64_t lda, const double* b, int64_t ldb, double beta, double* c, int64_t ldc);

// C[M,N] = A[M,K] · B[N,K]^T on 16-bit integers (zero points already subtracted), int32 sums.
// Both operands row-major along K, so each element is one contiguous dot product (which
// compilers vectorize as 16-bit multiply-adds). Exact while K · max|a| · max|b| < 2^31.
void gemmS16T(int64_t m, int64_t n, int64_t k, const int16_t* a, int64_t lda, const int16_t* b, int64_t ldb,
              int32_t* c, int64_t ldc);

// Intra-op parallelism for the GEMM, lent by whoever runs the kernels: the runtime's kernel library
// sets it around each step (its session's thread pool); the interpreter alone runs serially.
// Work is split by rows of C, so every element sums the same products in the same order and the
// result does not depend on the thread count.
struct Parallelism {
  void (*parallel_for)(void* runtime, size_t range, void (*fn)(void* context, size_t i), void* context) = nullptr;
  void* runtime = nullptr;
  int threads = 1;
};

// Makes `p` this thread's parallelism until destroyed (then restores the previous one).
class ScopedParallelism {
 public:
  explicit ScopedParallelism(const Parallelism* p);
  ~ScopedParallelism();
  ScopedParallelism(const ScopedParallelism&) = delete;
  ScopedParallelism& operator=(const ScopedParallelism&) = delete;

 private:
  const Parallelism* previous_;
};

}  // namespace dlc::ref
