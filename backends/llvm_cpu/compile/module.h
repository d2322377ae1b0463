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
#include "backends/trials.h"

namespace dlc::llvm_cpu {

// Whether the cpu target lowers `op` (DLC_CPU_EXPLAIN=1 prints why not).
bool lowers(const Op& op);
// Whether `op` multiplies by a pruned weight through one of the sparse kernels (lower_kernels.cc:
// where bench/sparse_matmul measured them faster than the dense ones).
bool takesSparseKernel(const Op& op);

// Runs of consecutive top-level ops that lower (and that `take` accepts, when given), each with
// payload "segment=dlc_seg<i>". Ops whose types are not static lower when given `trials` (the
// graph at trial sizes) and their code reads sizes from the run table; they make segments of their
// own.
std::vector<backends::Segment> planSegments(const Graph& graph, const std::function<bool(const Op&)>& take = {},
                                            const std::vector<backends::Trial>* trials = nullptr);

struct BuiltModule {
  std::unique_ptr<llvm::LLVMContext> context;
  std::unique_ptr<llvm::Module> module;
};

// The kernel library's bitcode with every segment's entry points (named by the prefix in its
// payload) added; only the entry points stay external. Not yet optimized. A segment with symbolic
// types gets its plan signature and textual IR appended to its payload:
//   "segment=<prefix>\nsignature=<w,w,...>\n<graph>".
Expected<BuiltModule> buildModule(std::vector<backends::Segment>& segments, const CpuTarget& target,
                                  const std::vector<backends::Trial>* trials = nullptr);

}  // namespace dlc::llvm_cpu
