// The cpu target's kernel parameters computed from an op's static types: shared by the code
// generator (which writes them into a model's code, or, for a segment with symbolic dims, checks
// them at trial sizes) and the runtime library (which computes them per run shape for such a
// segment). No LLVM here: libdlc_cpu links this.
#pragma once

#include <array>
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "backends/llvm_cpu/kernels/kernels.h"
#include "ir/graph.h"
#include "ir/status.h"

namespace dlc::llvm_cpu {

// Static shape of `v` (-1 for dims that are not static).
std::vector<int64_t> shapeOf(const Value* v);
int64_t numel(const std::vector<int64_t>& shape);
std::vector<int64_t> stridesOf(const std::vector<int64_t>& shape);
// "FusedConv 'conv1'": where an error happened.
std::string where(const Op& op);

// Whether a segment input is a weight (known at load). In the compiler a weight is a Constant
// op's result; in the runtime library, a step input that comes with its data.
using IsWeight = std::function<bool(const Value*)>;
bool isConstantOp(const Value* v);

// Every operand and result a static f32 tensor (absent optional operands aside).
Status checkF32(const Op& op);
// The DLC_ACT_* code of a fused op's activation attribute (DLC_ACT_NONE for unknown names).
int32_t activationCode(const Op& op);
Expected<dlc_epilogue> epilogueOf(const Op& op);
int64_t normalizedAxis(const Op& op, int64_t rank);  // attribute "axis", default -1
int64_t axisOf(const Op& op, size_t rank);           // attribute "axis", default 0

Expected<dlc_conv_params> convParams(const Op& op, const IsWeight& weight = isConstantOp);

// One kernel call covers the batch when each operand's batch dims equal the result's or are all
// ones (stride 0); other numpy broadcasts ([2,3] against [1,3]) become one call per batch entry.
struct MatMulPlan {
  dlc_matmul_params p{};
  std::vector<std::array<int64_t, 4>> calls{{0, 0, 0, 0}};  // element offsets of A, B, bias, C per call
};
Expected<MatMulPlan> matmulPlan(const Op& op, const IsWeight& weight = isConstantOp);

Expected<dlc_pool_params> poolParams(const Op& op);
Expected<dlc_softmax_params> softmaxParams(const Op& op);
Expected<dlc_layernorm_params> layerNormParams(const Op& op);  // LayerNormalization, RMSNormalization
Expected<dlc_attention_params> attentionParams(const Op& op);
Status checkGlobalAvg(const Op& op);
Status checkReduceMean(const Op& op);
Status checkBatchNorm(const Op& op);

// dst (with `dims`, contiguous strides `dst_strides`) = src viewed with `src_strides`.
dlc_copy_params copyParams(const std::vector<int64_t>& dims, const std::vector<int64_t>& src_strides,
                           const std::vector<int64_t>& dst_strides, DType dtype);
// One strided copy of a data-movement op: its parameters, and element offsets into the source
// and destination.
struct CopyCall {
  dlc_copy_params p{};
  int64_t src_offset = 0, dst_offset = 0;
  int source = 0, result = 0;  // which operand it reads, which result it writes
};
Status checkMovement(const Op& op);
// Transpose, Split, Concat (every input, empty ones too: the count must not depend on sizes).
Expected<std::vector<CopyCall>> copyCalls(const Op& op);

// Reshape, Flatten, Squeeze, Unsqueeze: results that share their operand's memory.
bool isViewKind(OpKind kind);
Status checkView(const Op& op);

}  // namespace dlc::llvm_cpu
