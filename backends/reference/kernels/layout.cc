// Dtype-agnostic data movement shared by the tensor and sequence kernels (see layout.h).
#include "backends/reference/kernels/layout.h"

namespace dlc::ref::layout {
namespace {

template <typename T>
void gatherRows(const Tensor& src, Tensor& out, const std::vector<int64_t>& out_shape,
                const std::vector<std::vector<int64_t>>& offs, const Tensor* fill) {
  const T* s = elems<T>(src);
  T* d = elems<T>(out);
  T fillv{};
  if (fill && fill->numel() > 0) fillv = elems<T>(*fill)[0];
  const int rank = static_cast<int>(out_shape.size());
  const std::vector<int64_t>& last = offs[static_cast<size_t>(rank - 1)];
  const int64_t len = out_shape.back();
  bool contiguous = last[0] >= 0;
  for (int64_t k = 1; k < len && contiguous; ++k) contiguous = last[static_cast<size_t>(k)] == last[0] + k;
  std::vector<int64_t> idx(static_cast<size_t>(rank - 1), 0);
  const int64_t rows = product(out_shape) / len;
  for (int64_t row = 0; row < rows; ++row) {
    int64_t base = 0;
    bool fill_row = false;
    for (int dd = 0; dd < rank - 1; ++dd) {
      int64_t o = offs[static_cast<size_t>(dd)][static_cast<size_t>(idx[static_cast<size_t>(dd)])];
      if (o < 0) fill_row = true;
      base += o;
    }
    T* dst = d + row * len;
    if (fill_row) {
      std::fill_n(dst, len, fillv);
    } else if (contiguous) {
      std::copy_n(s + base + last[0], len, dst);
    } else {
      for (int64_t k = 0; k < len; ++k) {
        int64_t o = last[static_cast<size_t>(k)];
        dst[k] = o < 0 ? fillv : s[base + o];
      }
    }
    for (int dd = rank - 2; dd >= 0; --dd) {
      if (++idx[static_cast<size_t>(dd)] < out_shape[static_cast<size_t>(dd)]) break;
      idx[static_cast<size_t>(dd)] = 0;
    }
  }
}

}  // namespace

Tensor indexedGather(const Tensor& src, const std::vector<int64_t>& out_shape,
                     const std::vector<std::vector<int64_t>>& offs, const Tensor* fill) {
  if (isPacked(src.dtype())) {
    Tensor f = fill ? unpackNibbles(*fill) : Tensor();
    return packNibbles(indexedGather(unpackNibbles(src), out_shape, offs, fill ? &f : nullptr), src.dtype());
  }
  Tensor out(src.dtype(), out_shape);
  if (out.numel() == 0) return out;
  if (out_shape.empty()) {  // rank 0: the single element at offset 0
    copyRun(out, 0, src, 0, 1);
    return out;
  }
  byWidth(src.dtype(), [&](auto tag) { gatherRows<decltype(tag)>(src, out, out_shape, offs, fill); });
  return out;
}

Tensor stridedCopy(const Tensor& src, int64_t offset, std::vector<int64_t> out_shape, std::vector<int64_t> strides) {
  std::vector<int64_t> shape, st;
  for (size_t i = 0; i < out_shape.size(); ++i) {
    if (out_shape[i] == 1) continue;  // size-1 dims contribute no offset
    if (!shape.empty() && st.back() == strides[i] * out_shape[i]) {
      shape.back() *= out_shape[i];  // contiguous with the previous dim: merge
      st.back() = strides[i];
    } else {
      shape.push_back(out_shape[i]);
      st.push_back(strides[i]);
    }
  }
  if (product(out_shape) == 0) return Tensor(src.dtype(), out_shape);
  if (shape.empty()) {
    shape.push_back(1);
    st.push_back(0);
  }
  // Negative offsets mean "fill" to indexedGather, so negative strides are shifted: each inner dim
  // starts at its smallest offset and dim 0 absorbs the shifts (its entries are then real element
  // offsets of the view, hence non-negative).
  std::vector<int64_t> shift(shape.size(), 0);
  int64_t total_shift = 0;
  for (size_t d = 1; d < shape.size(); ++d) {
    shift[d] = std::min<int64_t>(0, (shape[d] - 1) * st[d]);
    total_shift += shift[d];
  }
  std::vector<std::vector<int64_t>> offs(shape.size());
  for (size_t d = 0; d < shape.size(); ++d) {
    offs[d].resize(static_cast<size_t>(shape[d]));
    int64_t base = d == 0 ? offset + total_shift : -shift[d];
    for (int64_t o = 0; o < shape[d]; ++o) offs[d][static_cast<size_t>(o)] = o * st[d] + base;
  }
  return indexedGather(src, shape, offs).reshaped(std::move(out_shape));
}

namespace {
template <typename T>
void takeScalars(const Tensor& src, Tensor& out, int64_t outer, int64_t dim, const std::vector<int64_t>& index) {
  const T* s = elems<T>(src);
  T* d = elems<T>(out);
  const int64_t n = static_cast<int64_t>(index.size());
  for (int64_t o = 0; o < outer; ++o)
    for (int64_t j = 0; j < n; ++j) d[o * n + j] = s[o * dim + index[static_cast<size_t>(j)]];
}
}  // namespace

Tensor takeAlongAxis(const Tensor& src_in, int axis, const std::vector<int64_t>& index) {
  Tensor src = movable(src_in);
  std::vector<int64_t> shape = src.shape();
  const int64_t dim = shape[static_cast<size_t>(axis)];
  const int64_t outer = product(shape, 0, static_cast<size_t>(axis));
  const int64_t inner = product(shape, static_cast<size_t>(axis) + 1);
  shape[static_cast<size_t>(axis)] = static_cast<int64_t>(index.size());
  Tensor out(src.dtype(), shape);
  const int64_t n = static_cast<int64_t>(index.size());
  if (inner == 1) {
    byWidth(src.dtype(), [&](auto tag) { takeScalars<decltype(tag)>(src, out, outer, dim, index); });
  } else {
    for (int64_t o = 0; o < outer; ++o)
      for (int64_t j = 0; j < n; ++j)
        copyRun(out, (o * n + j) * inner, src, (o * dim + index[static_cast<size_t>(j)]) * inner, inner);
  }
  return restore(out, src_in.dtype());
}

bool concat(const std::vector<Tensor>& parts_in, int axis, Tensor* out, std::string* err) {
  if (parts_in.empty()) {
    *err = "nothing to concatenate";
    return false;
  }
  const Tensor& first = parts_in[0];
  std::vector<int64_t> shape = first.shape();
  if (axis < 0 || axis >= first.rank()) {
    *err = str("axis ", axis, " is out of range for rank ", first.rank());
    return false;
  }
  int64_t total = 0;
  std::vector<Tensor> parts;
  for (size_t p = 0; p < parts_in.size(); ++p) {
    const Tensor& t = parts_in[p];
    if (t.dtype() != first.dtype() || t.rank() != first.rank()) {
      *err = str("input ", p, " has type ", dtypeName(t.dtype()), " rank ", t.rank(), ", expected ",
                 dtypeName(first.dtype()), " rank ", first.rank());
      return false;
    }
    for (int d = 0; d < t.rank(); ++d)
      if (d != axis && t.dim(d) != first.dim(d)) {
        *err = str("input ", p, " has size ", t.dim(d), " in dim ", d, ", expected ", first.dim(d));
        return false;
      }
    total += t.dim(axis);
    parts.push_back(movable(t));
  }
  shape[static_cast<size_t>(axis)] = total;
  Tensor result(parts[0].dtype(), shape);
  const int64_t outer = product(shape, 0, static_cast<size_t>(axis));
  const int64_t inner = product(shape, static_cast<size_t>(axis) + 1);
  int64_t off = 0;
  for (int64_t o = 0; o < outer; ++o)
    for (const Tensor& t : parts) {
      int64_t chunk = t.dim(axis) * inner;
      copyRun(result, off, t, o * chunk, chunk);
      off += chunk;
    }
  *out = restore(result, first.dtype());
  return true;
}

std::vector<Tensor> split(const Tensor& src_in, int axis, const std::vector<int64_t>& sizes) {
  Tensor src = movable(src_in);
  const std::vector<int64_t>& shape = src.shape();
  const int64_t outer = product(shape, 0, static_cast<size_t>(axis));
  const int64_t inner = product(shape, static_cast<size_t>(axis) + 1);
  const int64_t row = shape[static_cast<size_t>(axis)] * inner;
  std::vector<Tensor> outs;
  int64_t start = 0;
  for (int64_t size : sizes) {
    std::vector<int64_t> s = shape;
    s[static_cast<size_t>(axis)] = size;
    Tensor t(src.dtype(), s);
    for (int64_t o = 0; o < outer; ++o) copyRun(t, o * size * inner, src, o * row + start * inner, size * inner);
    start += size;
    outs.push_back(restore(t, src_in.dtype()));
  }
  return outs;
}

}  // namespace dlc::ref::layout
