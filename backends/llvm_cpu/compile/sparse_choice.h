// Where the cpu target's sparse-weight kernels (kernels/matmul_sparse.cc, conv_sparse.cc) replace
// the dense ones: the bounds bench/sparse_matmul measured, and the weight's nonzero count.
#pragma once

#include <cstdint>
#include <optional>

#include "backends/llvm_cpu/kernels/kernels.h"
#include "ir/graph.h"

namespace dlc::llvm_cpu {

// The largest share of nonzero weights at which the sparse MatMul kernel beats the dense GEMM for
// `rows` rows of A (0: never), and the sparse convolution kernel the dense one for `c`.
double sparseMaxDensity(int64_t rows);
double sparseConvMaxDensity(const dlc_conv_params& c);

// The weight's nonzero count when the sparse kernel should multiply by it: a constant f32 weight
// with at most max_density of it nonzero (DLC_CPU_SPARSE=on: any; off: none).
std::optional<int64_t> sparseNonzeros(const Op& op, const Value* weight, double max_density);

// DLC_CPU_EXPLAIN=1: says that `op` takes a sparse kernel.
void explainSparse(const Op& op, int64_t nnz, int64_t weights);

}  // namespace dlc::llvm_cpu
