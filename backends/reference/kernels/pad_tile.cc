// Reference kernels for Pad (constant/reflect/edge/wrap, negative pads crop) and Tile, both as a
// per-dimension index map over the input (layout::indexedGather).
#include "backends/reference/kernels/layout.h"
#include "backends/reference/kernels/tensor_families.h"

namespace dlc::ref {
namespace {
using layout::rowMajorStrides;

Status kPad(KernelContext& ctx) {
  const Tensor& x = ctx.input(0);
  const int rank = x.rank();
  std::vector<int64_t> pads = ctx.input(1).toInt64Vector();
  if (static_cast<int>(pads.size()) != 2 * rank)
    return ctx.error(str("pads has ", pads.size(), " entries, expected ", 2 * rank));
  std::string mode = ctx.op().getString("mode", "constant");
  if (mode != "constant" && mode != "reflect" && mode != "edge" && mode != "wrap")
    return ctx.error(str("unknown mode '", mode, "'"));
  Tensor fill(x.dtype(), {1});
  if (mode == "constant" && ctx.hasInput(2) && ctx.input(2).numel() > 0) {
    const Tensor& v = ctx.input(2);
    if (v.dtype() == x.dtype())
      layout::copyRun(fill, 0, v, 0, 1);
    else if (x.dtype() != DType::String && v.dtype() != DType::String)
      fill.setDouble(0, v.getDouble(0));
    else
      return ctx.error("constant_value must have the input's dtype");
  }
  std::vector<int64_t> strides = rowMajorStrides(x.shape()), out_shape;
  std::vector<std::vector<int64_t>> offs;
  for (int d = 0; d < rank; ++d) {
    int64_t n = x.dim(d), before = pads[static_cast<size_t>(d)], after = pads[static_cast<size_t>(d + rank)];
    int64_t size = n + before + after;
    if (size < 0) return ctx.error(str("pads remove more than dim ", d, " holds"));
    if (mode != "constant" && n == 0 && size > 0) return ctx.error(str("cannot ", mode, "-pad the empty dim ", d));
    out_shape.push_back(size);
    std::vector<int64_t> map(static_cast<size_t>(size));
    for (int64_t o = 0; o < size; ++o) {
      int64_t i = o - before;
      if (i < 0 || i >= n) {
        if (mode == "constant") {
          i = -1;
        } else if (mode == "edge") {
          i = i < 0 ? 0 : n - 1;
        } else if (mode == "wrap") {
          i = ((i % n) + n) % n;
        } else if (n == 1) {
          i = 0;
        } else {
          int64_t period = 2 * (n - 1);
          i = ((i % period) + period) % period;
          if (i >= n) i = period - i;
        }
      }
      map[static_cast<size_t>(o)] = i < 0 ? -1 : i * strides[static_cast<size_t>(d)];
    }
    offs.push_back(std::move(map));
  }
  ctx.setOutput(0, layout::indexedGather(x, out_shape, offs, &fill));
  return Status::success();
}

Status kTile(KernelContext& ctx) {
  const Tensor& x = ctx.input(0);
  std::vector<int64_t> reps = ctx.input(1).toInt64Vector();
  if (static_cast<int>(reps.size()) != x.rank())
    return ctx.error(str("repeats has ", reps.size(), " entries for an input of rank ", x.rank()));
  std::vector<int64_t> strides = rowMajorStrides(x.shape()), out_shape;
  std::vector<std::vector<int64_t>> offs;
  for (int d = 0; d < x.rank(); ++d) {
    int64_t r = reps[static_cast<size_t>(d)], n = x.dim(d);
    if (r < 0) return ctx.error(str("repeat ", r, " is negative"));
    out_shape.push_back(n * r);
    std::vector<int64_t> map(static_cast<size_t>(n * r));
    for (int64_t o = 0; o < n * r; ++o) map[static_cast<size_t>(o)] = (o % n) * strides[static_cast<size_t>(d)];
    offs.push_back(std::move(map));
  }
  ctx.setOutput(0, layout::indexedGather(x, out_shape, offs));
  return Status::success();
}

}  // namespace

void registerPadTileKernels(KernelTable& t) {
  t[static_cast<size_t>(OpKind::Pad)] = kPad;
  t[static_cast<size_t>(OpKind::Tile)] = kTile;
}

}  // namespace dlc::ref
