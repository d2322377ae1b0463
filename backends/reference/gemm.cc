// Matrix multiply for the reference backend: i-k-j loops over blocks of K so the inner loop streams
// contiguous rows of B and C (vectorizes well); transposed operands are packed first.
#include "backends/reference/gemm.h"

#include <algorithm>
#include <vector>

namespace dlc::ref {
namespace {

template <typename T>
void gemm(bool trans_a, bool trans_b, int64_t m, int64_t n, int64_t k, T alpha, const T* a, int64_t lda,
          const T* b, int64_t ldb, T beta, T* c, int64_t ldc) {
  for (int64_t i = 0; i < m; ++i) {
    T* crow = c + i * ldc;
    if (beta == T(0))
      std::fill(crow, crow + n, T(0));
    else if (beta != T(1))
      for (int64_t j = 0; j < n; ++j) crow[j] *= beta;
  }
  if (m == 0 || n == 0 || k == 0) return;
  // Pack B as [K,N] row-major when transposed so the inner loop is contiguous.
  std::vector<T> b_packed;
  if (trans_b) {
    b_packed.resize(static_cast<size_t>(k * n));
    for (int64_t j = 0; j < n; ++j)
      for (int64_t p = 0; p < k; ++p) b_packed[static_cast<size_t>(p * n + j)] = b[j * ldb + p];
    b = b_packed.data();
    ldb = n;
  }
  constexpr int64_t kBlockK = 256;
  constexpr int64_t kBlockN = 1024;
  for (int64_t j0 = 0; j0 < n; j0 += kBlockN) {
    int64_t j1 = std::min(n, j0 + kBlockN);
    for (int64_t p0 = 0; p0 < k; p0 += kBlockK) {
      int64_t p1 = std::min(k, p0 + kBlockK);
      for (int64_t i = 0; i < m; ++i) {
        T* __restrict crow = c + i * ldc;
        for (int64_t p = p0; p < p1; ++p) {
          // No skip when av is 0: 0 * inf and 0 * NaN in B must still make NaN, as in numpy.
          T av = alpha * (trans_a ? a[p * lda + i] : a[i * lda + p]);
          const T* __restrict brow = b + p * ldb;
          for (int64_t j = j0; j < j1; ++j) crow[j] += av * brow[j];
        }
      }
    }
  }
}

}  // namespace

void gemmF32(bool trans_a, bool trans_b, int64_t m, int64_t n, int64_t k, float alpha, const float* a,
             int64_t lda, const float* b, int64_t ldb, float beta, float* c, int64_t ldc) {
  gemm<float>(trans_a, trans_b, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
}

void gemmF64(bool trans_a, bool trans_b, int64_t m, int64_t n, int64_t k, double alpha, const double* a,
             int64_t lda, const double* b, int64_t ldb, double beta, double* c, int64_t ldc) {
  gemm<double>(trans_a, trans_b, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
}

}  // namespace dlc::ref
