// Matrix multiply for the reference backend: i-k-j loops over blocks of K so the inner loop streams
// contiguous rows of B and C (vectorizes well); transposed operands are packed first.
#include "backends/reference/gemm.h"

#include <algorithm>
#include <vector>

namespace dlc::ref {
namespace {

thread_local const Parallelism* t_parallelism = nullptr;

// The hot loops get one copy per x86-64 level (AVX-512, AVX2, the SSE2 baseline), the CPU's picked
// when the library loads (an ifunc), so the portable build still runs wide vectors. Floating-point
// contraction is off for this library (CMakeLists.txt): every copy multiplies and adds as the
// baseline does, in the same order, so the results do not depend on the CPU either.
#if defined(__GNUC__) && !defined(__clang__) && defined(__x86_64__) && defined(__ELF__)
#define DLC_REF_HOT __attribute__((target_clones("arch=x86-64-v4", "arch=x86-64-v3", "default")))
#else
#define DLC_REF_HOT
#endif

// C[M,N] += alpha * op(A) * B, with B already row-major [K,N] (beta applied by the caller).
template <typename T>
inline __attribute__((always_inline)) void gemmLoops(bool trans_a, int64_t m, int64_t n, int64_t k, T alpha, const T* a,
                                                     int64_t lda, const T* b, int64_t ldb, T* c, int64_t ldc) {
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

DLC_REF_HOT void gemmKernel(bool trans_a, int64_t m, int64_t n, int64_t k, float alpha, const float* a, int64_t lda,
                            const float* b, int64_t ldb, float* c, int64_t ldc) {
  gemmLoops(trans_a, m, n, k, alpha, a, lda, b, ldb, c, ldc);
}
DLC_REF_HOT void gemmKernel(bool trans_a, int64_t m, int64_t n, int64_t k, double alpha, const double* a, int64_t lda,
                            const double* b, int64_t ldb, double* c, int64_t ldc) {
  gemmLoops(trans_a, m, n, k, alpha, a, lda, b, ldb, c, ldc);
}

// C[i, j] = sum_p a[i, p] b[j, p] for rows [i0, i1) and columns [j0, j1), in int32. Columns go
// in blocks that stay in cache while every row passes over them, so B is read from memory once.
DLC_REF_HOT void dotsS16(int64_t i0, int64_t i1, int64_t j0, int64_t j1, int64_t k, const int16_t* a, int64_t lda,
                         const int16_t* b, int64_t ldb, int32_t* c, int64_t ldc) {
  const int64_t block = std::max<int64_t>(1, (int64_t{64} << 10) / std::max<int64_t>(1, k * 2));  // ~64 KiB of B
  for (int64_t jb = j0; jb < j1; jb += block) {
    const int64_t je = std::min(j1, jb + block);
    int64_t i = i0;
    for (; i + 4 <= i1; i += 4) {  // four rows share each load of B
      const int16_t* __restrict a0 = a + i * lda;
      const int16_t* __restrict a1 = a0 + lda;
      const int16_t* __restrict a2 = a1 + lda;
      const int16_t* __restrict a3 = a2 + lda;
      for (int64_t j = jb; j < je; ++j) {
        const int16_t* __restrict brow = b + j * ldb;
        int32_t s0 = 0, s1 = 0, s2 = 0, s3 = 0;
        for (int64_t p = 0; p < k; ++p) {
          const int32_t bv = brow[p];
          s0 += a0[p] * bv, s1 += a1[p] * bv, s2 += a2[p] * bv, s3 += a3[p] * bv;
        }
        c[i * ldc + j] = s0, c[(i + 1) * ldc + j] = s1, c[(i + 2) * ldc + j] = s2, c[(i + 3) * ldc + j] = s3;
      }
    }
    for (; i < i1; ++i) {
      const int16_t* __restrict arow = a + i * lda;
      for (int64_t j = jb; j < je; ++j) {
        const int16_t* __restrict brow = b + j * ldb;
        int32_t acc = 0;
        for (int64_t p = 0; p < k; ++p) acc += static_cast<int32_t>(arow[p]) * static_cast<int32_t>(brow[p]);
        c[i * ldc + j] = acc;
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

// Tasks are blocks of rows, or of columns when there are too few rows (one recurrent step of a
// batch-1 RNN); every element is one whole dot product either way.
struct S16Tasks {
  int64_t m, n, k, per_task;
  bool by_rows;
  const int16_t* a;
  int64_t lda;
  const int16_t* b;
  int64_t ldb;
  int32_t* c;
  int64_t ldc;
  void block(int64_t i0, int64_t i1, int64_t j0, int64_t j1) const { dotsS16(i0, i1, j0, j1, k, a, lda, b, ldb, c, ldc); }
  static void run(void* context, size_t task) {
    auto* t = static_cast<S16Tasks*>(context);
    int64_t begin = static_cast<int64_t>(task) * t->per_task;
    if (t->by_rows) t->block(begin, std::min(t->m, begin + t->per_task), 0, t->n);
    else t->block(0, t->m, begin, std::min(t->n, begin + t->per_task));
  }
};

}  // namespace

void gemmS16T(int64_t m, int64_t n, int64_t k, const int16_t* a, int64_t lda, const int16_t* b, int64_t ldb,
              int32_t* c, int64_t ldc) {
  S16Tasks job{m, n, k, 0, true, a, lda, b, ldb, c, ldc};
  const Parallelism* par = t_parallelism;
  if (par && par->threads > 1 && m * n * k >= (int64_t{1} << 18)) {
    job.by_rows = m >= 16 * int64_t{par->threads};  // else each task would read all of B for few rows
    const int64_t extent = job.by_rows ? m : n;
    const int64_t tasks = std::min<int64_t>(extent, int64_t{par->threads} * 4);
    job.per_task = (extent + tasks - 1) / tasks;
    par->parallel_for(par->runtime, static_cast<size_t>((extent + job.per_task - 1) / job.per_task), S16Tasks::run, &job);
    return;
  }
  job.block(0, m, 0, n);
}

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
