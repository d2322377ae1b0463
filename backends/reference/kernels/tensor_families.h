// Registration hooks of the tensor/sequence kernel files, called from tensor.cc and control_flow.cc.
#pragma once

#include "backends/reference/kernel.h"

namespace dlc::ref {
void registerShapeKernels(KernelTable& table);     // shape_ops.cc
void registerPadTileKernels(KernelTable& table);   // pad_tile.cc
void registerIndexingKernels(KernelTable& table);  // indexing.cc
void registerScatterKernels(KernelTable& table);   // scatter.cc
void registerSortKernels(KernelTable& table);      // sort_ops.cc
void registerSequenceKernels(KernelTable& table);  // sequence.cc
}  // namespace dlc::ref
