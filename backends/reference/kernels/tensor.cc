// Reference kernels: tensor ops (shape/layout, indexing, scatter, sorting), one file per concept.
#include "backends/reference/kernels/tensor_families.h"

namespace dlc::ref {

void registerTensorKernels(KernelTable& table) {
  registerShapeKernels(table);
  registerPadTileKernels(table);
  registerIndexingKernels(table);
  registerScatterKernels(table);
  registerSortKernels(table);
}

}  // namespace dlc::ref
