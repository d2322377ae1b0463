// Reference kernels: tensor ops.
#include "backends/reference/kernel.h"

namespace dlc::ref {

void registerTensorKernels(KernelTable& table) { (void)table; }

}  // namespace dlc::ref
