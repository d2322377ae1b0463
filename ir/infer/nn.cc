// Shape and type inference for the nn ops: convs and pools (auto_pad, ceil_mode), normalizations,
// recurrent layers (layout), Resize from constant scales/sizes, detection, losses, optimizers.
#include <cmath>

#include "ir/infer/infer.h"
#include "ir/infer/linear_shapes.h"

namespace dlc::infer {
namespace {

// Input i as a tensor type, or an error naming it.
Status tensorInput(InferContext& ctx, int i, const Type** out) {
  const Type* t = ctx.inputType(i);
  if (!t) return ctx.error(str("input ", i, " is missing"));
  if (!t->isTensor()) return ctx.error(str("input ", i, " must be a tensor"));
  *out = t;
  return Status::success();
}

Status requireFloat(InferContext& ctx, const Type* t, const char* what) {
  if (t->dtype != DType::Undefined && !isFloat(t->dtype))
    return ctx.error(str(what, " must be a float tensor, got ", dtypeName(t->dtype)));
  return Status::success();
}

}  // namespace

// Output sizes of a sliding window (Conv, pools) along each spatial dim of `x` (dims 2..). Dims
// that are not static stay unknown; kernel sizes <= 0 mean "unknown".
Status windowDims(InferContext& ctx, const Shape& x, const std::vector<int64_t>& kernel, bool use_dilations,
                  bool ceil_mode, std::vector<Dim>* out) {
  const Op& op = ctx.op();
  const size_t n = static_cast<size_t>(x.rank() - 2);
  if (kernel.size() != n) return ctx.error(str("kernel has ", kernel.size(), " dims for ", n, " spatial dims"));
  std::vector<int64_t> strides = op.getInts("strides"), pads = op.getInts("pads"),
                       dil = use_dilations ? op.getInts("dilations") : std::vector<int64_t>{};
  if (strides.empty()) strides.assign(n, 1);
  if (dil.empty()) dil.assign(n, 1);
  if (strides.size() != n) return ctx.error(str("strides has ", strides.size(), " values for ", n, " spatial dims"));
  if (dil.size() != n) return ctx.error(str("dilations has ", dil.size(), " values for ", n, " spatial dims"));
  const std::string auto_pad = op.getString("auto_pad", "NOTSET");
  if (auto_pad != "NOTSET" && auto_pad != "VALID" && auto_pad != "SAME_UPPER" && auto_pad != "SAME_LOWER")
    return ctx.error(str("unknown auto_pad '", auto_pad, "'"));
  if (pads.empty()) pads.assign(2 * n, 0);
  if (pads.size() != 2 * n) return ctx.error(str("pads has ", pads.size(), " values, expected ", 2 * n));
  for (size_t i = 0; i < n; ++i) {
    if (strides[i] < 1 || dil[i] < 1) return ctx.error("strides and dilations must be positive");
    if (pads[i] < 0 || pads[i + n] < 0) return ctx.error("pads must be non-negative");
    const Dim& in = x.dims[i + 2];
    if (!in.isStatic() || kernel[i] <= 0) {
      out->push_back(Dim::unknown());
      continue;
    }
    int64_t v = in.value, s = strides[i], ek = (kernel[i] - 1) * dil[i] + 1;
    if (auto_pad == "SAME_UPPER" || auto_pad == "SAME_LOWER") {
      out->push_back(Dim::of((v + s - 1) / s));
      continue;
    }
    int64_t pb = auto_pad == "VALID" ? 0 : pads[i], pe = auto_pad == "VALID" ? 0 : pads[i + n];
    int64_t span = v + pb + pe - ek;
    if (span < 0)
      return ctx.error(str("kernel extent ", ek, " is larger than the padded input size ", v + pb + pe, " of spatial dim ", i));
    int64_t o = span / s + 1;
    if (ceil_mode) {
      o = (span + s - 1) / s + 1;
      if ((o - 1) * s >= v + pb) --o;  // a last window starting in the end padding is dropped
    }
    out->push_back(Dim::of(o));
  }
  return Status::success();
}


// Shared by Conv, ConvInteger, QLinearConv and FusedConv: X and W at `x_idx` / `w_idx`.
Status convResultType(InferContext& ctx, int x_idx, int w_idx, DType out_dtype, Type* result) {
  const Type *x, *w;
  DLC_RETURN_IF_ERROR(tensorInput(ctx, x_idx, &x));
  DLC_RETURN_IF_ERROR(tensorInput(ctx, w_idx, &w));
  if (!x->shape.ranked && !w->shape.ranked) {
    *result = Type::tensor(out_dtype);
    return Status::success();
  }
  int rank = x->shape.ranked ? x->shape.rank() : w->shape.rank();
  if (rank < 3) return ctx.error(str("X must be [N,C,spatial...], got rank ", rank));
  if (x->shape.ranked && w->shape.ranked && w->shape.rank() != rank)
    return ctx.error(str("W has rank ", w->shape.rank(), " but X has rank ", rank));
  int64_t group = ctx.op().getInt("group", 1);
  if (group < 1) return ctx.error("group must be positive");
  std::vector<int64_t> kernel = ctx.op().getInts("kernel_shape");
  if (kernel.empty()) {
    for (int i = 2; i < rank; ++i)
      kernel.push_back(w->shape.ranked && w->shape.dims[static_cast<size_t>(i)].isStatic()
                           ? w->shape.dims[static_cast<size_t>(i)].value : -1);
  }
  if (static_cast<int>(kernel.size()) != rank - 2)
    return ctx.error(str("kernel_shape has ", kernel.size(), " entries for ", rank - 2, " spatial dims"));
  Shape out;
  out.dims.push_back(x->shape.ranked ? x->shape.dims[0] : Dim::unknown());
  Dim m = w->shape.ranked ? w->shape.dims[0] : Dim::unknown();
  out.dims.push_back(m);
  if (x->shape.ranked && w->shape.ranked) {
    const Dim &c = x->shape.dims[1], &cg = w->shape.dims[1];
    if (c.isStatic() && cg.isStatic() && c.value != cg.value * group)
      return ctx.error(str("X has ", c.value, " channels but W expects ", cg.value, " x group ", group));
    if (m.isStatic() && m.value % group != 0) return ctx.error(str("group ", group, " does not divide ", m.value, " output channels"));
    for (int i = 2; i < rank; ++i) {
      const Dim& wk = w->shape.dims[static_cast<size_t>(i)];
      if (wk.isStatic() && kernel[static_cast<size_t>(i - 2)] != wk.value)
        return ctx.error("kernel_shape does not match W's spatial dims");
    }
  }
  if (x->shape.ranked) {
    DLC_RETURN_IF_ERROR(windowDims(ctx, x->shape, kernel, true, false, &out.dims));
  } else {
    for (int i = 2; i < rank; ++i) out.dims.push_back(Dim::unknown());
  }
  *result = Type::tensor(out_dtype, std::move(out));
  return Status::success();
}

namespace {

Status inferConvLike(InferContext& ctx, int x_idx, int w_idx, DType out_dtype) {
  Type t;
  DLC_RETURN_IF_ERROR(convResultType(ctx, x_idx, w_idx, out_dtype, &t));
  ctx.setOutput(0, std::move(t));
  return Status::success();
}

// MaxPool, AveragePool and LpPool.
Status inferPool(InferContext& ctx, bool dilations, bool ceil) {
  const Type* x;
  DLC_RETURN_IF_ERROR(tensorInput(ctx, 0, &x));
  std::vector<int64_t> kernel = ctx.op().getInts("kernel_shape");
  for (int64_t k : kernel)
    if (k < 1) return ctx.error("kernel_shape must be positive");
  Shape out = Shape::unranked();
  if (x->shape.ranked) {
    if (x->shape.rank() < 3) return ctx.error(str("X must be [N,C,spatial...], got ", x->shape.toString()));
    out = Shape({x->shape.dims[0], x->shape.dims[1]});
    DLC_RETURN_IF_ERROR(windowDims(ctx, x->shape, kernel, dilations, ceil && ctx.op().getInt("ceil_mode", 0) != 0, &out.dims));
  }
  ctx.setOutput(0, Type::tensor(x->dtype, out));
  if (ctx.numOutputs() > 1) ctx.setOutput(1, Type::tensor(DType::I64, out));
  return Status::success();
}

Status inferGlobalPool(InferContext& ctx) {
  const Type* x;
  DLC_RETURN_IF_ERROR(tensorInput(ctx, 0, &x));
  Shape out = x->shape;
  if (out.ranked) {
    if (out.rank() < 2) return ctx.error(str("X must be [N,C,spatial...], got ", out.toString()));
    for (size_t i = 2; i < out.dims.size(); ++i) out.dims[i] = Dim::of(1);
  }
  ctx.setOutput(0, Type::tensor(x->dtype, out));
  return Status::success();
}

Dim dimOf(const Type* t, int i) {
  return t && t->isTensor() && t->shape.ranked && i < t->shape.rank() ? t->shape.dims[static_cast<size_t>(i)] : Dim::unknown();
}

// LSTM, GRU and RNN: Y [seq, dirs, batch, H] (layout 1: [batch, seq, dirs, H]); Y_h and Y_c
// [dirs, batch, H] (layout 1: [batch, dirs, H]).
// W is [dirs, gates·H, I] (ONNX), or [dirs, I, gates·H] (`gate_axis` 2: the dynamically quantized
// forms, weights in GEMM order).
Status inferRecurrent(InferContext& ctx, int gates, int gate_axis = 1) {
  const Type *x, *w;
  DLC_RETURN_IF_ERROR(tensorInput(ctx, 0, &x));
  DLC_RETURN_IF_ERROR(tensorInput(ctx, 1, &w));
  DLC_RETURN_IF_ERROR(requireFloat(ctx, x, "X"));
  if (x->shape.ranked && x->shape.rank() != 3) return ctx.error(str("X must be rank 3, got ", x->shape.toString()));
  if (w->shape.ranked && w->shape.rank() != 3) return ctx.error(str("W must be rank 3, got ", w->shape.toString()));
  const Op& op = ctx.op();
  std::string direction = op.getString("direction", "forward");
  if (direction != "forward" && direction != "reverse" && direction != "bidirectional")
    return ctx.error(str("unknown direction '", direction, "'"));
  int64_t dirs = direction == "bidirectional" ? 2 : 1;
  Dim wd = dimOf(w, 0);
  if (wd.isStatic() && wd.value != dirs) return ctx.error(str("W has ", wd.value, " directions, direction says ", dirs));
  Dim hidden = Dim::unknown();
  Dim wg = dimOf(w, gate_axis);
  if (op.hasAttr("hidden_size")) {
    hidden = Dim::of(op.getInt("hidden_size"));
    if (wg.isStatic() && wg.value != gates * hidden.value)
      return ctx.error(str("W has ", wg.value, " rows, expected ", gates, " x hidden_size ", hidden.value));
  } else if (wg.isStatic()) {
    hidden = Dim::of(wg.value / gates);
  }
  bool layout1 = op.getInt("layout", 0) != 0;
  Dim seq = dimOf(x, layout1 ? 1 : 0), batch = dimOf(x, layout1 ? 0 : 1);
  Shape y = layout1 ? Shape({batch, seq, Dim::of(dirs), hidden}) : Shape({seq, Dim::of(dirs), batch, hidden});
  Shape yh = layout1 ? Shape({batch, Dim::of(dirs), hidden}) : Shape({Dim::of(dirs), batch, hidden});
  for (int i = 0; i < ctx.numOutputs(); ++i) ctx.setOutput(i, Type::tensor(x->dtype, i == 0 ? y : yh));
  return Status::success();
}

// Output dims of Resize/Upsample from constant scales (index `si`) or sizes (`zi`, -1 for none).
Status inferResizeLike(InferContext& ctx, int si, int zi) {
  const Type* x;
  DLC_RETURN_IF_ERROR(tensorInput(ctx, 0, &x));
  const Tensor* scales = si >= 0 ? ctx.constantInput(si) : nullptr;
  const Tensor* sizes = zi >= 0 ? ctx.constantInput(zi) : nullptr;
  if (scales && scales->numel() == 0) scales = nullptr;
  if (sizes && sizes->numel() == 0) sizes = nullptr;
  if (scales && sizes) return ctx.error("only one of scales and sizes may be given");
  int rank = x->shape.ranked ? x->shape.rank() : -1;
  if (rank < 0 && (scales || sizes)) rank = static_cast<int>((scales ? scales : sizes)->numel());
  if (rank < 0) {
    ctx.setOutput(0, Type::tensor(x->dtype));
    return Status::success();
  }
  const Tensor* given = scales ? scales : sizes;
  if (given && given->numel() != rank) return ctx.error(str(scales ? "scales" : "sizes", " must have ", rank, " values"));
  Shape out;
  for (int i = 0; i < rank; ++i) {
    Dim in = x->shape.ranked ? x->shape.dims[static_cast<size_t>(i)] : Dim::unknown();
    if (sizes) {
      int64_t v = sizes->getInt(i);
      if (v < 0) return ctx.error("sizes must be non-negative");
      out.dims.push_back(Dim::of(v));
    } else if (scales) {
      double s = scales->getDouble(i);
      if (!(s > 0)) return ctx.error(str("scale ", s, " must be positive"));
      if (s == 1.0) out.dims.push_back(in);  // symbolic batch/channel dims pass through
      else if (in.isStatic()) out.dims.push_back(Dim::of(static_cast<int64_t>(std::floor(static_cast<double>(in.value) * s))));
      else out.dims.push_back(Dim::unknown());
    } else {
      out.dims.push_back(Dim::unknown());
    }
  }
  ctx.setOutput(0, Type::tensor(x->dtype, std::move(out)));
  return Status::success();
}

// NegativeLogLikelihoodLoss / SoftmaxCrossEntropyLoss: per-element loss with reduction "none",
// else a scalar.
Status inferLoss(InferContext& ctx) {
  const Type *in, *target;
  DLC_RETURN_IF_ERROR(tensorInput(ctx, 0, &in));
  DLC_RETURN_IF_ERROR(tensorInput(ctx, 1, &target));
  DLC_RETURN_IF_ERROR(requireFloat(ctx, in, "input"));
  if (target->dtype != DType::Undefined && !isInteger(target->dtype)) return ctx.error("target must be an integer tensor");
  if (in->shape.ranked && in->shape.rank() < 2) return ctx.error("input must be [N, C, d...]");
  if (in->shape.ranked && target->shape.ranked && target->shape.rank() != in->shape.rank() - 1)
    return ctx.error(str("target ", target->shape.toString(), " must have rank ", in->shape.rank() - 1));
  std::string reduction = ctx.op().getString("reduction", "mean");
  if (reduction != "none" && reduction != "sum" && reduction != "mean")
    return ctx.error(str("unknown reduction '", reduction, "'"));
  Shape loss = Shape(std::vector<Dim>{});
  if (reduction == "none") {
    if (target->shape.ranked) {
      loss = target->shape;
    } else if (in->shape.ranked) {
      loss.dims = in->shape.dims;
      loss.dims.erase(loss.dims.begin() + 1);
    } else {
      loss = Shape::unranked();
    }
  }
  ctx.setOutput(0, Type::tensor(in->dtype, loss));
  if (ctx.numOutputs() > 1) ctx.setOutput(1, *in);
  return Status::success();
}

// The optimizers: outputs are X' then each state', typed like the matching inputs. Inputs are
// R, T, then `blocks` groups (X, G, states...).
Status inferOptimizer(InferContext& ctx, int blocks) {
  int rest = ctx.numInputs() - 2;
  if (rest <= 0 || rest % blocks != 0)
    return ctx.error(str("expects R, T and ", blocks, " equally long groups of inputs, got ", ctx.numInputs(), " inputs"));
  int n = rest / blocks;
  if (ctx.numOutputs() != n * (blocks - 1))
    return ctx.error(str("expects ", n * (blocks - 1), " outputs, got ", ctx.numOutputs()));
  for (int j = 0; j < ctx.numOutputs(); ++j) {
    int block = j / n == 0 ? 0 : j / n + 1;  // output groups skip the gradient group
    const Type* t;
    DLC_RETURN_IF_ERROR(tensorInput(ctx, 2 + block * n + j % n, &t));
    ctx.setOutput(j, *t);
  }
  return Status::success();
}

}  // namespace

Status inferConv(InferContext& ctx) {
  const Type *x, *w;
  DLC_RETURN_IF_ERROR(tensorInput(ctx, 0, &x));
  DLC_RETURN_IF_ERROR(tensorInput(ctx, 1, &w));
  DLC_RETURN_IF_ERROR(requireFloat(ctx, x, "X"));
  if (x->dtype != w->dtype) return ctx.error(str("X is ", dtypeName(x->dtype), " but W is ", dtypeName(w->dtype)));
  return inferConvLike(ctx, 0, 1, x->dtype);
}

Status inferConvInteger(InferContext& ctx) { return inferConvLike(ctx, 0, 1, DType::I32); }

Status inferQLinearConv(InferContext& ctx) {
  const Type* yzp;
  DLC_RETURN_IF_ERROR(tensorInput(ctx, 7, &yzp));
  return inferConvLike(ctx, 0, 3, yzp->dtype);
}

Status inferConvTranspose(InferContext& ctx) {
  const Type *x, *w;
  DLC_RETURN_IF_ERROR(tensorInput(ctx, 0, &x));
  DLC_RETURN_IF_ERROR(tensorInput(ctx, 1, &w));
  DLC_RETURN_IF_ERROR(requireFloat(ctx, x, "X"));
  const Op& op = ctx.op();
  if (!x->shape.ranked) {
    ctx.setOutput(0, Type::tensor(x->dtype));
    return Status::success();
  }
  int rank = x->shape.rank();
  if (rank < 3) return ctx.error(str("X must be [N,C,spatial...], got ", x->shape.toString()));
  if (w->shape.ranked && w->shape.rank() != rank) return ctx.error("W must have X's rank");
  size_t n = static_cast<size_t>(rank - 2);
  int64_t group = op.getInt("group", 1);
  Dim mg = dimOf(w, 1);
  Shape out({x->shape.dims[0], mg.isStatic() ? Dim::of(mg.value * group) : Dim::unknown()});
  std::vector<int64_t> kernel = op.getInts("kernel_shape"), strides = op.getInts("strides"),
                       dil = op.getInts("dilations"), pads = op.getInts("pads"), opad = op.getInts("output_padding"),
                       oshape = op.getInts("output_shape");
  if (kernel.empty())
    for (size_t i = 0; i < n; ++i) kernel.push_back(dimOf(w, static_cast<int>(i) + 2).isStatic() ? dimOf(w, static_cast<int>(i) + 2).value : -1);
  if (strides.empty()) strides.assign(n, 1);
  if (dil.empty()) dil.assign(n, 1);
  if (pads.empty()) pads.assign(2 * n, 0);
  if (opad.empty()) opad.assign(n, 0);
  if (oshape.size() == n + 2) oshape.erase(oshape.begin(), oshape.begin() + 2);
  if (kernel.size() != n || strides.size() != n || dil.size() != n || pads.size() != 2 * n || opad.size() != n ||
      (!oshape.empty() && oshape.size() != n))
    return ctx.error("kernel_shape/strides/dilations/output_padding/output_shape need one value per spatial dim, pads two");
  std::string auto_pad = op.getString("auto_pad", "NOTSET");
  for (size_t i = 0; i < n; ++i) {
    const Dim& in = x->shape.dims[i + 2];
    if (!oshape.empty()) {
      out.dims.push_back(Dim::of(oshape[i]));
    } else if (!in.isStatic() || kernel[i] <= 0) {
      out.dims.push_back(Dim::unknown());
    } else if (auto_pad == "SAME_UPPER" || auto_pad == "SAME_LOWER") {
      out.dims.push_back(Dim::of(in.value * strides[i]));
    } else {
      int64_t pb = auto_pad == "VALID" ? 0 : pads[i], pe = auto_pad == "VALID" ? 0 : pads[i + n];
      int64_t o = strides[i] * (in.value - 1) + opad[i] + (kernel[i] - 1) * dil[i] + 1 - pb - pe;
      if (o < 1) return ctx.error(str("output size ", o, " of spatial dim ", i, " is not positive"));
      out.dims.push_back(Dim::of(o));
    }
  }
  ctx.setOutput(0, Type::tensor(x->dtype, std::move(out)));
  return Status::success();
}

Status inferMaxPool(InferContext& ctx) { return inferPool(ctx, true, true); }
Status inferAveragePool(InferContext& ctx) { return inferPool(ctx, false, true); }
Status inferLpPool(InferContext& ctx) { return inferPool(ctx, false, false); }
Status inferGlobalAveragePool(InferContext& ctx) { return inferGlobalPool(ctx); }
Status inferGlobalLpPool(InferContext& ctx) { return inferGlobalPool(ctx); }
Status inferGlobalMaxPool(InferContext& ctx) { return inferGlobalPool(ctx); }

Status inferMaxUnpool(InferContext& ctx) {
  const Type* x;
  DLC_RETURN_IF_ERROR(tensorInput(ctx, 0, &x));
  if (const Tensor* os = ctx.hasInput(2) ? ctx.constantInput(2) : nullptr) {
    ctx.setOutput(0, Type::tensor(x->dtype, Shape::of(os->toInt64Vector())));
    return Status::success();
  }
  if (!x->shape.ranked) {
    ctx.setOutput(0, Type::tensor(x->dtype));
    return Status::success();
  }
  int rank = x->shape.rank();
  if (rank < 3) return ctx.error("X must be [N,C,spatial...]");
  size_t n = static_cast<size_t>(rank - 2);
  std::vector<int64_t> k = ctx.op().getInts("kernel_shape"), s = ctx.op().getInts("strides"), p = ctx.op().getInts("pads");
  if (s.empty()) s.assign(n, 1);
  if (p.empty()) p.assign(2 * n, 0);
  if (k.size() != n || s.size() != n || p.size() != 2 * n) return ctx.error("kernel_shape/strides/pads do not match X's rank");
  Shape out({x->shape.dims[0], x->shape.dims[1]});
  for (size_t i = 0; i < n; ++i) {
    const Dim& in = x->shape.dims[i + 2];
    // Without a constant output_shape, a non-static output_shape input makes every size unknown.
    if (ctx.hasInput(2) || !in.isStatic()) out.dims.push_back(Dim::unknown());
    else out.dims.push_back(Dim::of((in.value - 1) * s[i] + k[i] - p[i] - p[i + n]));
  }
  ctx.setOutput(0, Type::tensor(x->dtype, std::move(out)));
  return Status::success();
}

Status inferMaxRoiPool(InferContext& ctx) {
  const Type *x, *rois;
  DLC_RETURN_IF_ERROR(tensorInput(ctx, 0, &x));
  DLC_RETURN_IF_ERROR(tensorInput(ctx, 1, &rois));
  std::vector<int64_t> pooled = ctx.op().getInts("pooled_shape");
  if (pooled.size() != 2) return ctx.error("pooled_shape must have two values");
  if (x->shape.ranked && x->shape.rank() != 4) return ctx.error("X must be [N,C,H,W]");
  ctx.setOutput(0, Type::tensor(x->dtype, Shape({dimOf(rois, 0), dimOf(x, 1), Dim::of(pooled[0]), Dim::of(pooled[1])})));
  return Status::success();
}

Status inferRoiAlign(InferContext& ctx) {
  const Type *x, *rois, *idx;
  DLC_RETURN_IF_ERROR(tensorInput(ctx, 0, &x));
  DLC_RETURN_IF_ERROR(tensorInput(ctx, 1, &rois));
  DLC_RETURN_IF_ERROR(tensorInput(ctx, 2, &idx));
  if (x->shape.ranked && x->shape.rank() != 4) return ctx.error("X must be [N,C,H,W]");
  if (rois->shape.ranked && (rois->shape.rank() != 2 || (dimOf(rois, 1).isStatic() && dimOf(rois, 1).value != 4)))
    return ctx.error("rois must be [num_rois, 4]");
  Dim r = dimOf(rois, 0);
  if (!r.isStatic() && !r.isSymbolic()) r = dimOf(idx, 0);
  ctx.setOutput(0, Type::tensor(x->dtype, Shape({r, dimOf(x, 1), Dim::of(ctx.op().getInt("output_height", 1)),
                                                 Dim::of(ctx.op().getInt("output_width", 1))})));
  return Status::success();
}

Status inferGridSample(InferContext& ctx) {
  const Type *x, *grid;
  DLC_RETURN_IF_ERROR(tensorInput(ctx, 0, &x));
  DLC_RETURN_IF_ERROR(tensorInput(ctx, 1, &grid));
  if (x->shape.ranked && x->shape.rank() != 4) return ctx.error("X must be [N,C,H,W]");
  if (grid->shape.ranked && grid->shape.rank() != 4) return ctx.error("grid must be [N,H_out,W_out,2]");
  ctx.setOutput(0, Type::tensor(x->dtype, Shape({dimOf(x, 0), dimOf(x, 1), dimOf(grid, 1), dimOf(grid, 2)})));
  return Status::success();
}

Status inferNonMaxSuppression(InferContext& ctx) {
  const Type *boxes, *scores;
  DLC_RETURN_IF_ERROR(tensorInput(ctx, 0, &boxes));
  DLC_RETURN_IF_ERROR(tensorInput(ctx, 1, &scores));
  if (boxes->shape.ranked && boxes->shape.rank() != 3) return ctx.error("boxes must be [batch, boxes, 4]");
  if (scores->shape.ranked && scores->shape.rank() != 3) return ctx.error("scores must be [batch, classes, boxes]");
  ctx.setOutput(0, Type::tensor(DType::I64, Shape({Dim::unknown(), Dim::of(3)})));
  return Status::success();
}

Status inferBatchNormalization(InferContext& ctx) {
  const Type* x;
  DLC_RETURN_IF_ERROR(tensorInput(ctx, 0, &x));
  DLC_RETURN_IF_ERROR(requireFloat(ctx, x, "X"));
  if (x->shape.ranked && x->shape.rank() < 2) return ctx.error("X must be [N,C,...]");
  for (int i = 1; i < 5; ++i) {
    const Type* t;
    DLC_RETURN_IF_ERROR(tensorInput(ctx, i, &t));
    Dim c = dimOf(x, 1), tc = dimOf(t, 0);
    if (t->shape.ranked && t->shape.rank() != 1) return ctx.error(str("input ", i, " must be rank 1"));
    if (c.isStatic() && tc.isStatic() && c.value != tc.value)
      return ctx.error(str("input ", i, " has ", tc.value, " elements but X has ", c.value, " channels"));
  }
  ctx.setOutput(0, *x);
  for (int i = 1; i < ctx.numOutputs(); ++i) ctx.setOutput(i, *ctx.inputType(i + 2));
  return Status::success();
}

Status inferLayerNormalization(InferContext& ctx) {
  const Type* x;
  DLC_RETURN_IF_ERROR(tensorInput(ctx, 0, &x));
  DLC_RETURN_IF_ERROR(requireFloat(ctx, x, "X"));
  ctx.setOutput(0, *x);
  int64_t stash = ctx.op().getInt("stash_type", 1);
  DType st = stash == 11 ? DType::F64 : stash == 10 ? DType::F16 : stash == 16 ? DType::BF16 : DType::F32;
  if (stash != 1 && stash != 10 && stash != 11 && stash != 16) return ctx.error(str("stash_type ", stash, " is not a float type"));
  Shape stats = Shape::unranked();
  if (x->shape.ranked) {
    int axis;
    Status s = normalizeAxis(ctx.op().getInt("axis", -1), x->shape.rank(), &axis);
    if (!s.ok()) return ctx.error(s.message());
    stats = x->shape;
    for (size_t i = static_cast<size_t>(axis); i < stats.dims.size(); ++i) stats.dims[i] = Dim::of(1);
  }
  for (int i = 1; i < ctx.numOutputs(); ++i) ctx.setOutput(i, Type::tensor(st, stats));
  return Status::success();
}

Status inferDropout(InferContext& ctx) {
  const Type* x;
  DLC_RETURN_IF_ERROR(tensorInput(ctx, 0, &x));
  ctx.setOutput(0, *x);
  if (ctx.numOutputs() > 1) ctx.setOutput(1, Type::tensor(DType::Bool, x->shape));
  return Status::success();
}

Status inferLSTM(InferContext& ctx) { return inferRecurrent(ctx, 4); }
Status inferGRU(InferContext& ctx) { return inferRecurrent(ctx, 3); }
Status inferRNN(InferContext& ctx) { return inferRecurrent(ctx, 1); }
Status inferDynamicQuantizeLSTM(InferContext& ctx) { return inferRecurrent(ctx, 4, 2); }
Status inferDynamicQuantizeGRU(InferContext& ctx) { return inferRecurrent(ctx, 3, 2); }

Status inferResize(InferContext& ctx) {
  std::string mode = ctx.op().getString("mode", "nearest");
  if (mode != "nearest" && mode != "linear" && mode != "cubic") return ctx.error(str("unknown mode '", mode, "'"));
  return inferResizeLike(ctx, ctx.hasInput(2) ? 2 : -1, ctx.hasInput(3) ? 3 : -1);
}
Status inferUpsample(InferContext& ctx) { return inferResizeLike(ctx, 1, -1); }

Status inferNegativeLogLikelihoodLoss(InferContext& ctx) { return inferLoss(ctx); }
Status inferSoftmaxCrossEntropyLoss(InferContext& ctx) { return inferLoss(ctx); }

Status inferAdagrad(InferContext& ctx) { return inferOptimizer(ctx, 3); }
Status inferMomentum(InferContext& ctx) { return inferOptimizer(ctx, 3); }
Status inferAdam(InferContext& ctx) { return inferOptimizer(ctx, 4); }

// Gradient's outputs are d(y)/d(x) for each x in `xs`; its inputs start with those xs.
Status inferGradient(InferContext& ctx) {
  size_t nxs = ctx.op().getStrings("xs").size();
  if (static_cast<size_t>(ctx.numOutputs()) != nxs) return ctx.error(str("expects one output per name in xs (", nxs, ")"));
  for (int i = 0; i < ctx.numOutputs(); ++i) {
    const Type* t = ctx.inputType(i);
    ctx.setOutput(i, t ? *t : Type::tensor(DType::F32));
  }
  return Status::success();
}

}  // namespace dlc::infer
