// Reference kernels: nn ops.
#include "backends/reference/kernel.h"

namespace dlc::ref {

void registerNNKernels(KernelTable& table) { (void)table; }

}  // namespace dlc::ref
