// Reference kernels for sequences and optionals: SequenceEmpty/Construct/At/Insert/Erase/Length,
// ConcatFromSequence, SplitToSequence, Optional, OptionalHasElement, OptionalGetElement.
#include "backends/reference/kernels/layout.h"
#include "backends/reference/kernels/tensor_families.h"

namespace dlc::ref {
namespace {

Status sequenceInput(KernelContext& ctx, int i, const std::vector<Tensor>** out) {
  const RtValue& v = ctx.inputValue(i);
  if (!v.is_sequence || v.is_none) return ctx.error(str("input ", i, " must be a sequence"));
  *out = &v.sequence;
  return Status::success();
}

// Reads a position input; valid range is [-n, n) or, when `allow_end`, [-n, n].
Status position(KernelContext& ctx, int i, int64_t n, bool allow_end, int64_t* pos) {
  const Tensor& t = ctx.input(i);
  if (t.numel() != 1) return ctx.error("position must be a scalar");
  int64_t p = t.getInt(0);
  if (p < -n || p > (allow_end ? n : n - 1))
    return ctx.error(str("position ", p, " is out of range for a sequence of length ", n));
  *pos = p < 0 ? p + n : p;
  return Status::success();
}

Status kSequenceEmpty(KernelContext& ctx) {
  ctx.setOutputValue(0, RtValue::ofSequence({}));
  return Status::success();
}

Status kSequenceConstruct(KernelContext& ctx) {
  std::vector<Tensor> items;
  for (int i = 0; i < ctx.numInputs(); ++i) {
    if (ctx.inputValue(i).is_sequence || ctx.inputValue(i).is_none) return ctx.error("inputs must be tensors");
    if (i > 0 && ctx.input(i).dtype() != ctx.input(0).dtype()) return ctx.error("inputs must share one dtype");
    items.push_back(ctx.input(i));
  }
  ctx.setOutputValue(0, RtValue::ofSequence(std::move(items)));
  return Status::success();
}

Status kSequenceAt(KernelContext& ctx) {
  const std::vector<Tensor>* seq;
  DLC_RETURN_IF_ERROR(sequenceInput(ctx, 0, &seq));
  int64_t p;
  DLC_RETURN_IF_ERROR(position(ctx, 1, static_cast<int64_t>(seq->size()), false, &p));
  ctx.setOutput(0, (*seq)[static_cast<size_t>(p)]);
  return Status::success();
}

Status kSequenceInsert(KernelContext& ctx) {
  const std::vector<Tensor>* seq;
  DLC_RETURN_IF_ERROR(sequenceInput(ctx, 0, &seq));
  std::vector<Tensor> items = *seq;
  int64_t p = static_cast<int64_t>(items.size());
  if (ctx.hasInput(2)) DLC_RETURN_IF_ERROR(position(ctx, 2, p, true, &p));
  if (!items.empty() && ctx.input(1).dtype() != items[0].dtype()) return ctx.error("tensor dtype differs from the sequence's");
  items.insert(items.begin() + p, ctx.input(1));
  ctx.setOutputValue(0, RtValue::ofSequence(std::move(items)));
  return Status::success();
}

Status kSequenceErase(KernelContext& ctx) {
  const std::vector<Tensor>* seq;
  DLC_RETURN_IF_ERROR(sequenceInput(ctx, 0, &seq));
  std::vector<Tensor> items = *seq;
  if (items.empty()) return ctx.error("cannot erase from an empty sequence");
  int64_t p = static_cast<int64_t>(items.size()) - 1;
  if (ctx.hasInput(1)) DLC_RETURN_IF_ERROR(position(ctx, 1, static_cast<int64_t>(items.size()), false, &p));
  items.erase(items.begin() + p);
  ctx.setOutputValue(0, RtValue::ofSequence(std::move(items)));
  return Status::success();
}

Status kSequenceLength(KernelContext& ctx) {
  const std::vector<Tensor>* seq;
  DLC_RETURN_IF_ERROR(sequenceInput(ctx, 0, &seq));
  Tensor t(DType::I64, {});
  t.setInt(0, static_cast<int64_t>(seq->size()));
  ctx.setOutput(0, t);
  return Status::success();
}

Status kConcatFromSequence(KernelContext& ctx) {
  const std::vector<Tensor>* seq;
  DLC_RETURN_IF_ERROR(sequenceInput(ctx, 0, &seq));
  if (seq->empty()) return ctx.error("cannot concatenate an empty sequence");
  bool new_axis = ctx.op().getInt("new_axis") != 0;
  int rank = (*seq)[0].rank() + (new_axis ? 1 : 0);
  int axis;
  if (!layout::normAxis(ctx.op().getInt("axis"), rank, &axis)) return ctx.error("axis is out of range");
  std::vector<Tensor> parts;
  for (const Tensor& t : *seq) {
    if (!new_axis) {
      parts.push_back(t);
      continue;
    }
    std::vector<int64_t> s = t.shape();  // stacking: give every part a size-1 dim at `axis`
    if (axis > static_cast<int>(s.size())) return ctx.error("sequence tensors differ in rank");
    s.insert(s.begin() + axis, 1);
    parts.push_back(t.reshaped(s));
  }
  Tensor out;
  std::string err;
  if (!layout::concat(parts, axis, &out, &err)) return ctx.error(err);
  ctx.setOutput(0, out);
  return Status::success();
}

Status kSplitToSequence(KernelContext& ctx) {
  const Tensor& x = ctx.input(0);
  int axis;
  if (!layout::normAxis(ctx.op().getInt("axis"), x.rank(), &axis)) return ctx.error("axis is out of range");
  const int64_t dim = x.dim(axis);
  std::vector<int64_t> sizes;
  bool squeeze = false;
  if (ctx.hasInput(1)) {
    const Tensor& s = ctx.input(1);
    if (s.rank() == 0) {  // a chunk size: equal chunks, the last one smaller
      int64_t c = s.getInt(0);
      if (c <= 0) return ctx.error(str("split size ", c, " must be positive"));
      for (int64_t start = 0; start < dim; start += c) sizes.push_back(std::min(c, dim - start));
    } else {
      sizes = s.toInt64Vector();
      int64_t sum = 0;
      for (int64_t v : sizes) {
        if (v < 0) return ctx.error("split sizes must be non-negative");
        sum += v;
      }
      if (sum != dim) return ctx.error(str("split sizes sum to ", sum, ", but the dim is ", dim));
    }
  } else {
    sizes.assign(static_cast<size_t>(dim), 1);
    squeeze = ctx.op().getInt("keepdims", 1) == 0;
  }
  std::vector<Tensor> parts = layout::split(x, axis, sizes);
  if (squeeze)
    for (Tensor& t : parts) {
      std::vector<int64_t> s = t.shape();
      s.erase(s.begin() + axis);
      t = t.reshaped(s);
    }
  ctx.setOutputValue(0, RtValue::ofSequence(std::move(parts)));
  return Status::success();
}

Status kOptional(KernelContext& ctx) {
  ctx.setOutputValue(0, ctx.hasInput(0) ? ctx.inputValue(0) : RtValue::none());
  return Status::success();
}

Status kOptionalHasElement(KernelContext& ctx) {
  Tensor t(DType::Bool, {});
  t.setInt(0, ctx.hasInput(0) && !ctx.inputValue(0).is_none ? 1 : 0);
  ctx.setOutput(0, t);
  return Status::success();
}

Status kOptionalGetElement(KernelContext& ctx) {
  if (!ctx.hasInput(0) || ctx.inputValue(0).is_none) return ctx.error("the optional is empty");
  ctx.setOutputValue(0, ctx.inputValue(0));
  return Status::success();
}

}  // namespace

void registerSequenceKernels(KernelTable& t) {
  t[static_cast<size_t>(OpKind::SequenceEmpty)] = kSequenceEmpty;
  t[static_cast<size_t>(OpKind::SequenceConstruct)] = kSequenceConstruct;
  t[static_cast<size_t>(OpKind::SequenceAt)] = kSequenceAt;
  t[static_cast<size_t>(OpKind::SequenceInsert)] = kSequenceInsert;
  t[static_cast<size_t>(OpKind::SequenceErase)] = kSequenceErase;
  t[static_cast<size_t>(OpKind::SequenceLength)] = kSequenceLength;
  t[static_cast<size_t>(OpKind::ConcatFromSequence)] = kConcatFromSequence;
  t[static_cast<size_t>(OpKind::SplitToSequence)] = kSplitToSequence;
  t[static_cast<size_t>(OpKind::Optional)] = kOptional;
  t[static_cast<size_t>(OpKind::OptionalHasElement)] = kOptionalHasElement;
  t[static_cast<size_t>(OpKind::OptionalGetElement)] = kOptionalGetElement;
}

}  // namespace dlc::ref
