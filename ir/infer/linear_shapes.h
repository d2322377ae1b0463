// Result shapes of the heavy linear ops, shared by their rules and by the fused ops built on them.
#pragma once

#include "ir/infer/infer.h"

namespace dlc::infer {

// Conv's result type from X (input x_idx), W (input w_idx) and the conv attributes
// (auto_pad, dilations, group, kernel_shape, pads, strides). Defined in nn.cc.
Status convResultType(InferContext& ctx, int x_idx, int w_idx, DType out_dtype, Type* result);
// Output sizes of a sliding window (Conv, pools) along each spatial dim of `x` (dims 2..), from the
// op's auto_pad/pads/strides (and dilations when `use_dilations`). Defined in nn.cc.
Status windowDims(InferContext& ctx, const Shape& x, const std::vector<int64_t>& kernel, bool use_dilations,
                  bool ceil_mode, std::vector<Dim>* out);
// Numpy matmul shapes (1-D promotion, broadcast batch dims). Defined in math.cc.
Status matmulShape(InferContext& ctx, const Shape& a, const Shape& b, Shape* out);

}  // namespace dlc::infer
