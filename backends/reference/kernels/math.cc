// Reference kernels: math ops.
#include "backends/reference/kernel.h"

namespace dlc::ref {

void registerMathKernels(KernelTable& table) { (void)table; }

}  // namespace dlc::ref
