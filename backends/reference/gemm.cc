// Matrix multiply for the reference backend: i-k-j loops over blocks of K so the inner loop streams
// contiguous rows of B and C (vectorizes well); transposed operands are packed first.
#include "backends/reference/gemm.h"

#include <algorithm>
#include <vector>

namespace dlc::ref {
namespace {

thread_local const Parallelism* t_parallelism = nullptr;

// C[M,N] += alpha * op(A) * B, with B already row-major [K,N] (beta applied by the caller).
template <typename T>
void gemmKernel(bool trans_a, int64_t m, int64_t n, int64_t k, T alpha, const T* a, int64_t lda, const T* b,
                int64_t ldb, T* c, int64_t ldc) {
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

template <typename T>
struct RowTasks {
  bool trans_a;
  int64_t m, n, k, rows_per_task;
  T alpha;
  const T* a;
  int64_t lda;
  const T* b;
  int64_t ldb;
  T* c;
  int64_t ldc;
  static void run(void* context, size_t task) {
    auto* t = static_cast<RowTasks*>(context);
    int64_t begin = static_cast<int64_t>(task) * t->rows_per_task, end = std::min(t->m, begin + t->rows_per_task);
    // Rows [begin, end) of op(A): rows of A, or columns when A is transposed.
    const T* a = t->a + (t->trans_a ? begin : begin * t->lda);
    gemmKernel(t->trans_a, end - begin, t->n, t->k, t->alpha, a, t->lda, t->b, t->ldb, t->c + begin * t->ldc, t->ldc);
  }
};

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
  const Parallelism* par = t_parallelism;
  // Below ~1 MFLOP a split costs more than it saves.
  if (par && par->threads > 1 && m > 1 && m * n * k >= (int64_t{1} << 19)) {
    int64_t tasks = std::min<int64_t>(m, int64_t{par->threads} * 4);
    RowTasks<T> job{trans_a, m, n, k, (m + tasks - 1) / tasks, alpha, a, lda, b, ldb, c, ldc};
    par->parallel_for(par->runtime, static_cast<size_t>((m + job.rows_per_task - 1) / job.rows_per_task), RowTasks<T>::run, &job);
    return;
  }
  gemmKernel(trans_a, m, n, k, alpha, a, lda, b, ldb, c, ldc);
}

}  // namespace

ScopedParallelism::ScopedParallelism(const Parallelism* p) : previous_(t_parallelism) { t_parallelism = p; }
ScopedParallelism::~ScopedParallelism() { t_parallelism = previous_; }

void gemmF32(bool trans_a, bool trans_b, int64_t m, int64_t n, int64_t k, float alpha, const float* a,
             int64_t lda, const float* b, int64_t ldb, float beta, float* c, int64_t ldc) {
  gemm<float>(trans_a, trans_b, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
}

void gemmF64(bool trans_a, bool trans_b, int64_t m, int64_t n, int64_t k, double alpha, const double* a,
             int64_t lda, const double* b, int64_t ldb, double beta, double* c, int64_t ldc) {
  gemm<double>(trans_a, trans_b, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
}

}  // namespace dlc::ref
