// The pieces of the cpu target shared by the artifact path and the bundle: which ops lower, how
// they group into segments, and the LLVM module holding the kernel library and the segments.
#pragma once

#include <llvm/IR/LLVMContext.h>
#include <llvm/IR/Module.h>

#include <functional>
#include <memory>
#include <vector>

#include "backends/backend.h"
#include "backends/llvm_cpu/compile/target.h"

namespace dlc::llvm_cpu {

// Whether the cpu target lowers `op` (DLC_CPU_EXPLAIN=1 prints why not).
bool lowers(const Op& op);
// Whether `op` multiplies by a pruned weight through one of the sparse kernels (lower_kernels.cc:
// where bench/sparse_matmul measured them faster than the dense ones).
bool takesSparseKernel(const Op& op);

// Runs of consecutive top-level ops that lower (and that `take` accepts, when given), each with
// payload "segment=dlc_seg<i>".
std::vector<backends::Segment> planSegments(const Graph& graph, const std::function<bool(const Op&)>& take = {});

struct BuiltModule {
  std::unique_ptr<llvm::LLVMContext> context;
  std::unique_ptr<llvm::Module> module;
};

// The kernel library's bitcode with every segment's entry points (named by the prefix in its
// payload) added; only the entry points stay external. Not yet optimized.
Expected<BuiltModule> buildModule(const std::vector<backends::Segment>& segments, const CpuTarget& target);

}  // namespace dlc::llvm_cpu
