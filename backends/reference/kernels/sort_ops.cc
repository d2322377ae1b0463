// Reference kernels that order elements: TopK (ties keep the smaller index first) and Unique
// (sorted or first-occurrence order, flattened or along an axis, all four outputs).
#include <algorithm>
#include <cmath>
#include <numeric>
#include <type_traits>

#include "backends/reference/kernels/layout.h"
#include "backends/reference/kernels/tensor_families.h"

namespace dlc::ref {
namespace {
using layout::product;

// Comparable keys: 16-bit floats compare as double, strings as strings, others natively.
template <typename T>
auto keyOf(const T& v) {
  if constexpr (std::is_same_v<T, Half> || std::is_same_v<T, BFloat16>)
    return toDouble(v);
  else
    return v;
}
// A strict weak order with NaN above every number (so sorting never sees an inconsistent order).
template <typename K>
bool keyLess(const K& a, const K& b) {
  if constexpr (std::is_floating_point_v<K>) {
    if (std::isnan(a)) return false;
    if (std::isnan(b)) return true;
  }
  return a < b;
}

template <typename T>
void topK(const Tensor& x, int axis, int64_t k, bool largest, Tensor& values, Tensor& indices) {
  const T* s = x.data<T>();
  T* v = values.data<T>();
  int64_t* ix = indices.data<int64_t>();
  const int64_t dim = x.dim(axis);
  const int64_t outer = product(x.shape(), 0, static_cast<size_t>(axis));
  const int64_t inner = product(x.shape(), static_cast<size_t>(axis) + 1);
  std::vector<int64_t> order(static_cast<size_t>(dim));
  for (int64_t o = 0; o < outer; ++o)
    for (int64_t in = 0; in < inner; ++in) {
      auto at = [&](int64_t j) { return keyOf(s[(o * dim + j) * inner + in]); };
      std::iota(order.begin(), order.end(), 0);
      std::partial_sort(order.begin(), order.begin() + k, order.end(), [&](int64_t a, int64_t b) {
        auto ka = at(a), kb = at(b);
        bool before = largest ? keyLess(kb, ka) : keyLess(ka, kb);
        bool after = largest ? keyLess(ka, kb) : keyLess(kb, ka);
        return before || (!after && a < b);  // equal values: smaller index first
      });
      for (int64_t j = 0; j < k; ++j) {
        int64_t src = order[static_cast<size_t>(j)];
        v[(o * k + j) * inner + in] = s[(o * dim + src) * inner + in];
        ix[(o * k + j) * inner + in] = src;
      }
    }
}

Status kTopK(KernelContext& ctx) {
  const Tensor& x = ctx.input(0);
  int axis;
  if (!layout::normAxis(ctx.op().getInt("axis", -1), x.rank(), &axis)) return ctx.error("axis is out of range");
  if (ctx.input(1).numel() != 1) return ctx.error("K must hold one element");
  int64_t k = ctx.input(1).getInt(0);
  if (k < 0 || k > x.dim(axis)) return ctx.error(str("K ", k, " is out of range for a dim of size ", x.dim(axis)));
  std::vector<int64_t> shape = x.shape();
  shape[static_cast<size_t>(axis)] = k;
  Tensor values(x.dtype(), shape), indices(DType::I64, shape);
  bool largest = ctx.op().getInt("largest", 1) != 0;
  bool ok = true;
  // Always sorted: a valid order for sorted=0 too, and deterministic.
  DLC_DISPATCH_NUMERIC_OR(x.dtype(), ok = false, T, topK<T>(x, axis, k, largest, values, indices));
  if (!ok) return ctx.error(str("dtype ", dtypeName(x.dtype()), " is not supported"));
  ctx.setOutput(0, values);
  ctx.setOutput(1, indices);
  return Status::success();
}

// Groups equal items (elements, or slices along an axis) of x. Item j covers the elements
// (o*n + j)*inner + i for every o < outer, i < inner.
template <typename T>
void uniqueGroups(const T* s, int64_t outer, int64_t n, int64_t inner, bool sorted, std::vector<int64_t>* first,
                  std::vector<int64_t>* inverse, std::vector<int64_t>* counts) {
  auto cmp = [&](int64_t a, int64_t b) {  // -1, 0, 1 lexicographically over the item's elements
    for (int64_t o = 0; o < outer; ++o)
      for (int64_t i = 0; i < inner; ++i) {
        auto ka = keyOf(s[(o * n + a) * inner + i]), kb = keyOf(s[(o * n + b) * inner + i]);
        if (keyLess(ka, kb)) return -1;
        if (keyLess(kb, ka)) return 1;
      }
    return 0;
  };
  std::vector<int64_t> order(static_cast<size_t>(n));
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(), [&](int64_t a, int64_t b) { return cmp(a, b) < 0; });
  // Groups in sorted order; the stable sort puts each group's first occurrence first.
  std::vector<int64_t> group_of(static_cast<size_t>(n));
  std::vector<int64_t> g_first, g_count;
  for (size_t p = 0; p < order.size(); ++p) {
    if (p == 0 || cmp(order[p - 1], order[p]) != 0) {
      g_first.push_back(order[p]);
      g_count.push_back(0);
    }
    g_count.back()++;
    group_of[static_cast<size_t>(order[p])] = static_cast<int64_t>(g_first.size()) - 1;
  }
  std::vector<int64_t> rank(g_first.size());  // position of each group in the output
  std::vector<int64_t> out_groups(g_first.size());
  std::iota(out_groups.begin(), out_groups.end(), 0);
  if (!sorted)
    std::sort(out_groups.begin(), out_groups.end(), [&](int64_t a, int64_t b) { return g_first[a] < g_first[b]; });
  for (size_t p = 0; p < out_groups.size(); ++p) {
    rank[static_cast<size_t>(out_groups[p])] = static_cast<int64_t>(p);
    first->push_back(g_first[static_cast<size_t>(out_groups[p])]);
    counts->push_back(g_count[static_cast<size_t>(out_groups[p])]);
  }
  for (int64_t j = 0; j < n; ++j) inverse->push_back(rank[static_cast<size_t>(group_of[static_cast<size_t>(j)])]);
}

Status kUnique(KernelContext& ctx) {
  Tensor x = ctx.input(0);
  int axis = 0;
  if (ctx.op().hasAttr("axis")) {
    if (!layout::normAxis(ctx.op().getInt("axis"), x.rank(), &axis)) return ctx.error("axis is out of range");
  } else {
    x = x.reshaped({x.numel()});
  }
  const int64_t n = x.dim(axis);
  const int64_t outer = product(x.shape(), 0, static_cast<size_t>(axis));
  const int64_t inner = product(x.shape(), static_cast<size_t>(axis) + 1);
  bool sorted = ctx.op().getInt("sorted", 1) != 0;
  std::vector<int64_t> first, inverse, counts;
  if (x.dtype() == DType::String) {
    uniqueGroups(x.strings().data(), outer, n, inner, sorted, &first, &inverse, &counts);
  } else {
    bool ok = true;
    DLC_DISPATCH_NUMERIC_OR(x.dtype(), ok = false, T,
                            uniqueGroups(x.data<T>(), outer, n, inner, sorted, &first, &inverse, &counts));
    if (!ok) return ctx.error(str("dtype ", dtypeName(x.dtype()), " is not supported"));
  }
  auto vec = [](const std::vector<int64_t>& v) {
    return Tensor::fromVector(DType::I64, {static_cast<int64_t>(v.size())}, v);
  };
  ctx.setOutput(0, layout::takeAlongAxis(x, axis, first));
  if (ctx.numOutputs() > 1) ctx.setOutput(1, vec(first));
  if (ctx.numOutputs() > 2) ctx.setOutput(2, vec(inverse));
  if (ctx.numOutputs() > 3) ctx.setOutput(3, vec(counts));
  return Status::success();
}

}  // namespace

void registerSortKernels(KernelTable& t) {
  t[static_cast<size_t>(OpKind::TopK)] = kTopK;
  t[static_cast<size_t>(OpKind::Unique)] = kUnique;
}

}  // namespace dlc::ref
