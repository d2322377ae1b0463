// Reference kernels: elementwise ops.
#include "backends/reference/kernel.h"

namespace dlc::ref {

void registerElementwiseKernels(KernelTable& table) { (void)table; }

}  // namespace dlc::ref
