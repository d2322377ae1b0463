// Where the cpu target's sparse-weight kernels replace the dense ones (sparse_choice.h).
#include "backends/llvm_cpu/compile/sparse_choice.h"

#include <cstdio>
#include <cstdlib>
#include <cstring>

#include "backends/llvm_cpu/compile/emitter.h"
#include "ir/constant_value.h"

namespace dlc::llvm_cpu {

// The sparse kernel replaces the dense one where it is faster: bench/sparse_matmul measures both on
// one MatMul per shape and sparsity. On this project's 2-core AVX-512 machine (768x3072 and
// 3072x768 weights, 2026-12-03, three runs) the sparse one takes 0.35-0.6x the dense time at 80%
// zeros from 64 rows, 0.25-0.36x at 90%; at 70% zeros 0.7-1.0x (within the noise); with 16 rows it
// wins only from 90% zeros (0.55-0.61x; 1.0-1.2x at 80%), and with one row not reliably even at 95%
// (its row tile is 32 rows).
// Hence: from 64 rows with at most 25% nonzero, from 16 rows with at most 11%.
// Convolutions other than pointwise ones (conv_sparse.cc; 3x3 convolutions of resnet50's shapes,
// its 1x1 stride-2 shortcut and 7x7 stem, same benchmark and day): 0.3-0.65x the dense time at
// 90% zeros; at 80% 0.6-0.96x with stride 1 or a 1x1 kernel but 1.05-1.25x for strided 3x3 and
// 7x7 windows (four stride phases to copy); at 70% 0.75-1.4x.
// Hence: from 16 positions with at most 20% nonzero, 12% for strided windows.
// DLC_CPU_SPARSE=on (any shape it takes) or off overrides the choice.
double sparseMaxDensity(int64_t rows) { return rows >= 64 ? 0.25 : rows >= 16 ? 0.11 : 0.0; }
double sparseConvMaxDensity(const dlc_conv_params& c) {
  const bool strided_window = (c.stride_h > 1 || c.stride_w > 1) && c.kernel_h * c.kernel_w > 1;
  return c.out_h * c.out_w < 16 ? 0.0 : strided_window ? 0.12 : 0.2;
}

// The weight's nonzero count when the sparse kernel should multiply by it: when at most
// max_density of it is nonzero.
std::optional<int64_t> sparseNonzeros(const Op& op, const Value* weight, double max_density) {
  const char* mode = std::getenv("DLC_CPU_SPARSE");
  if (mode && std::strcmp(mode, "off") == 0) return std::nullopt;
  const bool forced = mode && std::strcmp(mode, "on") == 0;
  if (!forced && max_density <= 0.0) return std::nullopt;  // before counting: never pays for this shape
  if (!weight || !weight->definingOp() || weight->definingOp()->kind() != OpKind::Constant) return std::nullopt;
  Expected<Tensor> w = constantOpValue(*weight->definingOp());
  if (!w.ok() || w->dtype() != DType::F32) return std::nullopt;
  const float* v = static_cast<const float*>(w->raw());
  int64_t nnz = 0;
  for (int64_t i = 0; i < w->numel(); ++i) nnz += v[i] != 0.0f;
  if (nnz >= (int64_t{1} << 31) || (!forced && static_cast<double>(nnz) > max_density * static_cast<double>(w->numel())))
    return std::nullopt;
  return nnz;
}

void explainSparse(const Op& op, int64_t nnz, int64_t weights) {
  if (std::getenv("DLC_CPU_EXPLAIN"))
    std::fprintf(stderr, "cpu: %s: sparse kernel (%lld of %lld weights nonzero)\n", where(op).c_str(), static_cast<long long>(nnz),
                 static_cast<long long>(weights));
}

}  // namespace dlc::llvm_cpu
