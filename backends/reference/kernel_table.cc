// Assembles the reference kernel table from the per-family registration functions.
#include "backends/reference/kernel.h"

namespace dlc::ref {

const KernelTable& kernelTable() {
  static const KernelTable table = [] {
    KernelTable t{};
    registerElementwiseKernels(t);
    registerMathKernels(t);
    registerTensorKernels(t);
    registerControlFlowKernels(t);
    registerNNKernels(t);
    return t;
  }();
  return table;
}

}  // namespace dlc::ref
