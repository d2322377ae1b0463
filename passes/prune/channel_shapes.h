// Shape reasoning for channel pruning (channel.cc): the dims of values along a group's path (type
// inference loses them after a Reshape whose shape is computed at run time, as in torch's
// attention exports), where a Reshape moves the channel axis, and the shape elements a Reshape's
// surgery rewrites.
#pragma once

#include <optional>
#include <utility>
#include <vector>

#include "ir/graph.h"

namespace dlc::prune {

// Dims with -1 for unknown ones.
using Dims = std::vector<int64_t>;

// The static dims of a value's type (unknown ones -1); empty when it has no ranked tensor type.
Dims typeDims(const Value* v);

// The axes a Squeeze/Unsqueeze/Reduce* takes (normalized to `rank`), from its constant operand
// or attribute; nullopt when they are not constants. Reduce* without axes: every axis.
std::optional<std::vector<int64_t>> constantAxes(const Op& op, int rank);

// A Slice's bounds on one axis (normalized), steps 1 where absent.
struct SliceAxis {
  int axis = 0;
  int64_t start = 0, end = 0, step = 1;
};
// Every axis a Slice slices, from its constant operands; nullopt when one is not a constant.
std::optional<std::vector<SliceAxis>> sliceAxes(const Op& op, int rank);
// The [first, last) a step-1 slice from `start` to `end` takes of a dim of `size` (ONNX's
// clamping of negative and out-of-range bounds).
std::pair<int64_t, int64_t> sliceRange(int64_t start, int64_t end, int64_t size);

// The elements of a shape operand as far as they are constants (a constant, or a Concat of 1-D
// pieces), -1 elsewhere; empty when its length is unknown.
Dims shapeOperandDims(const Value* shape);

// A Reshape's target dims given its input dims: the shape operand's constant elements (a
// constant, or a Concat of 1-D pieces of which some are constants), 0 copied from the input, and
// the result type's static dims.
Dims reshapeDims(const Op& reshape, const Dims& in);

// Where a Reshape of a tensor carrying channels along axis `axis` (each channel a block of
// `block` indices, `repeat` times, `channels` of them) carries them in its result. The reshape
// must map a segment of trailing input axes holding `axis` onto a segment of output axes with
// the same product, all known:
//  - several input axes into one output axis (Flatten, [N, H, S, D] -> [N, H·S... ]): the channel
//    axis becomes that axis, its block times the product of the merged axes after it, its
//    repeat times those before it;
//  - the channel axis into several output axes: the features split [.., heads, head_dim] or
//    [.., 3, heads, head_dim]: the second-to-last axis of the split holds whole channel blocks
//    (the heads; into [C, H, W] at axis 1 of a rank-4 result, the first); the group then counts
//    those (coarsen: `unit` old channels per new one, `outer` copies of the pattern).
struct ReshapeCarry {
  int axis = 0;               // the result's channel axis
  int64_t block = 1, repeat = 1;  // in units of the (possibly coarsened) channels
  int64_t unit = 1, outer = 1;    // coarsening of the group: channels / (unit·outer) new channels
};
std::optional<ReshapeCarry> reshapeCarry(const Dims& in, const Dims& out, int axis, int64_t channels, int64_t block, int64_t repeat);

// The operand holding element `index` of a Reshape's shape, when the surgery can replace it by a
// constant: the shape operand itself (op = the Reshape) or a 1-D piece of the Concat that builds
// it, a constant or a static dim read at run time (x.shape[k] of a static dim).
struct ShapeElement {
  const Op* op = nullptr;  // the Reshape or the Concat
  int operand = 0;
  int64_t element = 0;     // index within that constant
  int64_t value = 0;
};
std::optional<ShapeElement> shapeElement(const Op& reshape, int64_t index);

}  // namespace dlc::prune
