// Reference kernels: control flow ops.
#include "backends/reference/kernel.h"

namespace dlc::ref {

void registerControlFlowKernels(KernelTable& table) { (void)table; }

}  // namespace dlc::ref
