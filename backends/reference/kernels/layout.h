// Dtype-agnostic data movement for the tensor/sequence kernels: element storage dispatch, strided
// and per-dimension-indexed gathers, block copies along an axis, concat and stacking.
#pragma once

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <string>
#include <type_traits>
#include <vector>

#include "backends/reference/kernel.h"
#include "ir/dtype_dispatch.h"
#include "ir/tensor.h"

namespace dlc::ref::layout {

// Layout ops only move elements, so they dispatch on the element *width* (and on string), never on
// the numeric type: one instantiation per width serves every dtype of that width.
template <typename T>
inline T* elems(Tensor& t) {
  if constexpr (std::is_same_v<T, std::string>)
    return t.strings().data();
  else
    return static_cast<T*>(t.raw());
}
template <typename T>
inline const T* elems(const Tensor& t) {
  if constexpr (std::is_same_v<T, std::string>)
    return t.strings().data();
  else
    return static_cast<const T*>(t.raw());
}

// Calls fn(T{}) with T a storage type of `dt`'s width (std::string for strings). Returns false for
// the packed 4-bit types, which callers unpack first (see unpackNibbles).
template <typename Fn>
inline bool byWidth(DType dt, Fn&& fn) {
  if (dt == DType::String) {
    fn(std::string());
    return true;
  }
  switch (dtypeSize(dt)) {
    case 1: fn(uint8_t{}); return true;
    case 2: fn(uint16_t{}); return true;
    case 4: fn(uint32_t{}); return true;
    case 8: fn(uint64_t{}); return true;
    default: return false;
  }
}

inline bool isPacked(DType dt) { return dt == DType::I4 || dt == DType::U4; }

// 4-bit tensors are moved as one byte per element and packed again afterwards.
inline Tensor unpackNibbles(const Tensor& t) {
  Tensor out(DType::U8, t.shape());
  const auto* src = static_cast<const uint8_t*>(t.raw());
  auto* dst = static_cast<uint8_t*>(out.raw());
  for (int64_t i = 0; i < t.numel(); ++i) dst[i] = (src[i / 2] >> ((i % 2) * 4)) & 0xF;
  return out;
}
inline Tensor packNibbles(const Tensor& u8, DType dt) {
  Tensor out(dt, u8.shape());
  const auto* src = static_cast<const uint8_t*>(u8.raw());
  auto* dst = static_cast<uint8_t*>(out.raw());
  for (int64_t i = 0; i < u8.numel(); ++i) dst[i / 2] |= static_cast<uint8_t>((src[i] & 0xF) << ((i % 2) * 4));
  return out;
}
// Views a tensor for moving: packed types become bytes.
inline Tensor movable(const Tensor& t) { return isPacked(t.dtype()) ? unpackNibbles(t) : t; }
// Undoes movable() on a result built from inputs of dtype `dt`.
inline Tensor restore(Tensor t, DType dt) { return isPacked(dt) ? packNibbles(t, dt) : t; }

// Copies n consecutive elements (any dtype of the same width, incl. string).
inline void copyRun(Tensor& dst, int64_t di, const Tensor& src, int64_t si, int64_t n) {
  if (n <= 0) return;
  if (dst.dtype() == DType::String) {
    std::copy_n(src.strings().begin() + si, n, dst.strings().begin() + di);
    return;
  }
  size_t es = dtypeSize(dst.dtype());
  std::memcpy(static_cast<char*>(dst.raw()) + di * es, static_cast<const char*>(src.raw()) + si * es,
              static_cast<size_t>(n) * es);
}

inline std::vector<int64_t> rowMajorStrides(const std::vector<int64_t>& shape) {
  std::vector<int64_t> s(shape.size(), 1);
  for (int i = static_cast<int>(shape.size()) - 2; i >= 0; --i)
    s[static_cast<size_t>(i)] = s[static_cast<size_t>(i) + 1] * shape[static_cast<size_t>(i) + 1];
  return s;
}
inline int64_t product(const std::vector<int64_t>& v, size_t from = 0, size_t to = SIZE_MAX) {
  const size_t end = std::min(to, v.size());
  int64_t n = 1;
  if (from >= end) return n;
  for (auto it = v.begin() + static_cast<std::ptrdiff_t>(from); it != v.begin() + static_cast<std::ptrdiff_t>(end); ++it)
    n *= *it;
  return n;
}

// The general gather: out[o_0,...,o_k] = src[sum_d offs[d][o_d]], or `fill` (element 0 of a
// one-element tensor of the same dtype) when any offs[d][o_d] is negative. Every layout op whose
// output index splits per dimension (Transpose, Slice, Expand, Tile, Pad, Depth/SpaceToDepth) is
// this with different offset tables. Rows whose offsets are consecutive are copied with memcpy.
Tensor indexedGather(const Tensor& src, const std::vector<int64_t>& out_shape,
                     const std::vector<std::vector<int64_t>>& offs, const Tensor* fill = nullptr);

// out = src viewed with `strides` (may be 0 or negative) from `offset`, materialised contiguously.
// Dims are merged first where the view is contiguous so big copies become few long memcpys.
Tensor stridedCopy(const Tensor& src, int64_t offset, std::vector<int64_t> out_shape, std::vector<int64_t> strides);

// Selects blocks along `axis`: out = src with dim `axis` replaced by `index.size()` entries,
// entry j being src's slice index[j] (already validated, non-negative).
Tensor takeAlongAxis(const Tensor& src, int axis, const std::vector<int64_t>& index);

// Concatenates tensors of equal rank and dtype along `axis` (checked; error text in *err).
bool concat(const std::vector<Tensor>& parts, int axis, Tensor* out, std::string* err);

// Splits along `axis` into pieces of the given sizes (which sum to the dim).
std::vector<Tensor> split(const Tensor& src, int axis, const std::vector<int64_t>& sizes);

// Maps a possibly negative axis into [0, rank); false when out of range.
inline bool normAxis(int64_t axis, int rank, int* out) {
  if (axis < -rank || axis >= rank) return false;
  *out = static_cast<int>(axis < 0 ? axis + rank : axis);
  return true;
}

}  // namespace dlc::ref::layout
