// ONNX's clamping rules for index ranges (Slice, Shape), shared by shape inference and the
// reference kernels so the compile-time shape and the run-time result cannot disagree.
#pragma once

#include <algorithm>
#include <cstdint>
#include <limits>
#include <utility>

namespace dlc {

struct SliceRange {
  int64_t start = 0;  // first index taken (meaningful when count > 0)
  int64_t count = 0;  // number of elements taken
};

// Slice-13 along a dim of size `dim`: negative start/end count from the end, then clamp to
// [0, dim] for a positive step or [-1, dim-1] for a negative one. `step` must not be 0. Counts are
// computed as (span - 1) / |step| + 1 so that huge steps (e.g. INT64_MAX) cannot overflow.
inline SliceRange sliceRange(int64_t start, int64_t end, int64_t step, int64_t dim) {
  if (dim <= 0) return {};  // nothing to take (and the clamps below would have empty ranges)
  if (start < 0) start = start < -dim ? -1 - dim : start + dim;  // stays below 0: clamped next
  if (end < 0) end = end < -dim ? -1 - dim : end + dim;
  SliceRange r;
  if (step > 0) {
    start = std::clamp<int64_t>(start, 0, dim);
    end = std::clamp<int64_t>(end, 0, dim);
    r.count = end > start ? (end - start - 1) / step + 1 : 0;
  } else {
    start = std::clamp<int64_t>(start, 0, dim - 1);
    end = std::clamp<int64_t>(end, -1, dim - 1);
    uint64_t magnitude = step == std::numeric_limits<int64_t>::min() ? uint64_t{1} << 63 : static_cast<uint64_t>(-step);
    r.count = start > end ? static_cast<int64_t>(static_cast<uint64_t>(start - end - 1) / magnitude + 1) : 0;
  }
  r.start = start;
  return r;
}

// Shape-15's [start, end) over `rank` dims: negative from the end, clamped to [0, rank].
inline std::pair<int64_t, int64_t> shapeRange(int64_t start, int64_t end, int64_t rank) {
  if (start < 0) start += rank;
  if (end < 0) end += rank;
  return {std::clamp<int64_t>(start, 0, rank), std::clamp<int64_t>(end, 0, rank)};
}

}  // namespace dlc
