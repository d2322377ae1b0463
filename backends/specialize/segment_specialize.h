// Segments whose types are not all static (symbolic dims such as a batch or a sequence length, and
// dims only a run knows, such as the size after a strided convolution of a symbolic image): a run's
// input shapes, and the values of its small integer inputs, are re-inferred through the segment,
// which gives every type a size. The kernel libraries that run such segments (onednn, cpu) build
// what they run once per distinct run key. Runtime side: no compiler dependencies, only dlc_ir.
#pragma once

#include <memory>
#include <string_view>
#include <vector>

#include "dlc/kernel_library.h"
#include "ir/graph.h"
#include "ir/status.h"

namespace dlc::backends {

// True when every type of the segment is static (what runs is built once, at load).
bool segmentIsStatic(const Graph& segment);
// Per segment input: true when an op reads it as a shape operand (sizes, axes, bounds).
std::vector<bool> shapeOperands(const Graph& segment);
// What decides a run's specialization: the shapes of the step's run-time inputs and the values of
// its small integer shape operands.
std::vector<int64_t> runKey(const Graph& segment, const std::vector<const void*>& constants, const std::vector<bool>& shape_operands,
                            const dlc_tensor* inputs);
// The segment of `text` with a run's input shapes (the non-constant inputs') and shape operands
// re-inferred through it; an error naming the input that contradicts the segment's types.
Expected<std::unique_ptr<Graph>> specializeSegment(std::string_view text, const std::vector<const void*>& constants,
                                                   const std::vector<bool>& shape_operands, const dlc_tensor* inputs);

}  // namespace dlc::backends
