// Shared kernel helpers: strides, numpy broadcasting, row-wise broadcast iteration, compute types.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <type_traits>
#include <vector>

#include "ir/dtype_dispatch.h"
#include "ir/status.h"
#include "ir/tensor.h"

namespace dlc::ref {

// Row-major strides (in elements) of a shape.
inline std::vector<int64_t> stridesOf(const std::vector<int64_t>& shape) {
  std::vector<int64_t> s(shape.size(), 1);
  for (int i = static_cast<int>(shape.size()) - 2; i >= 0; --i)
    s[static_cast<size_t>(i)] = s[static_cast<size_t>(i) + 1] * shape[static_cast<size_t>(i) + 1];
  return s;
}

inline int64_t numElements(const std::vector<int64_t>& shape) {
  int64_t n = 1;
  for (int64_t d : shape) n *= d;
  return n;
}

// Numpy broadcast of any number of concrete shapes; false (with a message) when they disagree.
inline bool broadcastShapes(const std::vector<std::vector<int64_t>>& shapes, std::vector<int64_t>* out,
                            std::string* err) {
  size_t rank = 0;
  for (const auto& s : shapes) rank = std::max(rank, s.size());
  std::vector<int64_t> r(rank, 1);
  for (const auto& s : shapes) {
    size_t off = rank - s.size();
    for (size_t i = 0; i < s.size(); ++i) {
      int64_t d = s[i];
      int64_t& o = r[off + i];
      if (d == o || d == 1) continue;
      if (o == 1) {
        o = d;
        continue;
      }
      if (err) *err = str("shapes cannot broadcast: dim ", d, " against ", o);
      return false;
    }
  }
  *out = std::move(r);
  return true;
}

// Strides of `in` viewed as the (larger) shape `out`: broadcast dims get stride 0.
inline std::vector<int64_t> broadcastStrides(const std::vector<int64_t>& in, const std::vector<int64_t>& out) {
  std::vector<int64_t> s(out.size(), 0);
  std::vector<int64_t> own = stridesOf(in);
  size_t off = out.size() - in.size();
  for (size_t i = 0; i < in.size(); ++i) s[off + i] = in[i] == 1 ? 0 : own[i];
  return s;
}

// Visits `out_shape` one innermost row at a time. For each row calls
//   fn(out_offset, in_offsets (std::array<int64_t,N>), row_length, inner_strides (std::array<int64_t,N>))
// so callers keep a tight inner loop without per-element index arithmetic.
template <size_t N, typename Fn>
void forEachRow(const std::vector<int64_t>& out_shape, const std::array<std::vector<int64_t>, N>& strides, Fn&& fn) {
  const int rank = static_cast<int>(out_shape.size());
  if (numElements(out_shape) == 0) return;
  std::array<int64_t, N> inner{};
  int64_t len = 1;
  if (rank > 0) {
    len = out_shape.back();
    for (size_t k = 0; k < N; ++k) inner[k] = strides[k].back();
  }
  std::vector<int64_t> idx(static_cast<size_t>(std::max(rank - 1, 0)), 0);
  std::array<int64_t, N> offs{};
  int64_t out_off = 0;
  while (true) {
    fn(out_off, offs, len, inner);
    out_off += len;
    int d = rank - 2;
    for (; d >= 0; --d) {
      size_t du = static_cast<size_t>(d);
      ++idx[du];
      for (size_t k = 0; k < N; ++k) offs[k] += strides[k][du];
      if (idx[du] < out_shape[du]) break;
      for (size_t k = 0; k < N; ++k) offs[k] -= strides[k][du] * idx[du];
      idx[du] = 0;
    }
    if (d < 0) return;
  }
}

// The type arithmetic is done in: 16-bit floats compute in float, everything else natively.
template <typename T>
struct ComputeOf {
  using type = T;
};
template <>
struct ComputeOf<Half> {
  using type = float;
};
template <>
struct ComputeOf<BFloat16> {
  using type = float;
};
template <typename T>
using Compute = typename ComputeOf<T>::type;

template <typename T>
inline Compute<T> load(T v) {
  if constexpr (std::is_same_v<T, Half>)
    return halfToFloat(v.bits);
  else if constexpr (std::is_same_v<T, BFloat16>)
    return bfloat16ToFloat(v.bits);
  else
    return v;
}
template <typename T, typename C>
inline T store(C v) {
  if constexpr (std::is_same_v<T, Half>)
    return Half{floatToHalf(static_cast<float>(v))};
  else if constexpr (std::is_same_v<T, BFloat16>)
    return BFloat16{floatToBFloat16(static_cast<float>(v))};
  else
    return static_cast<T>(v);
}

template <typename T>
constexpr bool kIsFloatStorage = std::is_floating_point_v<T> || std::is_same_v<T, Half> ||
                                 std::is_same_v<T, BFloat16>;

// Maps a possibly negative axis into [0, rank).
inline bool normalizeAxisIn(int64_t axis, int rank, int* out) {
  if (axis < -rank || axis >= rank) return false;
  *out = static_cast<int>(axis < 0 ? axis + rank : axis);
  return true;
}

// Splits `shape` around `axis` into outer * dim * inner element counts.
struct AxisSplit {
  int64_t outer = 1, dim = 1, inner = 1;
};
inline AxisSplit splitAt(const std::vector<int64_t>& shape, int axis) {
  AxisSplit s;
  for (int i = 0; i < static_cast<int>(shape.size()); ++i) {
    if (i < axis) s.outer *= shape[static_cast<size_t>(i)];
    else if (i == axis) s.dim = shape[static_cast<size_t>(i)];
    else s.inner *= shape[static_cast<size_t>(i)];
  }
  return s;
}

}  // namespace dlc::ref
