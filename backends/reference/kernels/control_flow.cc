// Reference kernels: control flow with regions (If, Loop, Scan, SequenceMap); also registers the
// sequence/optional kernels (sequence.cc).
#include <limits>

#include "backends/reference/kernels/layout.h"
#include "backends/reference/kernels/tensor_families.h"

namespace dlc::ref {
namespace {

const Region* regionAttr(const Op& op, const char* name) {
  const Attribute* a = op.attr(name);
  return a && a->g ? a->g.get() : nullptr;
}

bool truthy(const Tensor& t) { return t.numel() > 0 && t.getDouble(0) != 0.0; }

Tensor scalarI64(int64_t v) {
  Tensor t(DType::I64, {});
  t.setInt(0, v);
  return t;
}
Tensor scalarBool(bool v) {
  Tensor t(DType::Bool, {});
  t.setInt(0, v ? 1 : 0);
  return t;
}

// Stacks per-iteration tensors along a new dim `axis`. With no iterations the result is empty,
// shaped from the static dims of `type` (the op's declared result) where they are known.
Status stack(KernelContext& ctx, const std::vector<Tensor>& items, int64_t axis_attr, const Type& type, Tensor* out) {
  if (items.empty()) {
    std::vector<int64_t> shape{0};
    DType dt = type.isTensor() ? type.dtype : DType::F32;
    if (type.isTensor() && type.shape.ranked && type.shape.rank() >= 1) {
      shape.clear();
      for (const Dim& d : type.shape.dims) shape.push_back(d.isStatic() ? d.value : 0);
    }
    *out = Tensor(dt == DType::Undefined ? DType::F32 : dt, shape);
    return Status::success();
  }
  int axis;
  if (!layout::normAxis(axis_attr, items[0].rank() + 1, &axis)) return ctx.error("scan output axis is out of range");
  std::vector<Tensor> parts;
  for (const Tensor& t : items) {
    if (t.rank() != items[0].rank()) return ctx.error("per-iteration outputs differ in rank");
    std::vector<int64_t> s = t.shape();
    s.insert(s.begin() + axis, 1);
    parts.push_back(t.reshaped(s));
  }
  std::string err;
  if (!layout::concat(parts, axis, out, &err)) return ctx.error(str("per-iteration outputs differ: ", err));
  return Status::success();
}

Status kIf(KernelContext& ctx) {
  const Tensor& cond = ctx.input(0);
  if (cond.numel() != 1) return ctx.error("cond must hold exactly one element");
  const Region* r = regionAttr(ctx.op(), truthy(cond) ? "then_branch" : "else_branch");
  if (!r) return ctx.error("branch region is missing");
  DLC_ASSIGN_OR_RETURN(auto outs, ctx.runRegion(*r, {}));
  if (static_cast<int>(outs.size()) != ctx.numOutputs())
    return ctx.error(str("branch returned ", outs.size(), " values for ", ctx.numOutputs(), " outputs"));
  for (size_t i = 0; i < outs.size(); ++i) ctx.setOutputValue(static_cast<int>(i), std::move(outs[i]));
  return Status::success();
}

Status kLoop(KernelContext& ctx) {
  const Region* body = regionAttr(ctx.op(), "body");
  if (!body) return ctx.error("body region is missing");
  const int n_carried = ctx.numInputs() - 2;
  const int n_scan = ctx.numOutputs() - n_carried;
  if (n_scan < 0) return ctx.error("fewer outputs than loop-carried values");
  if (body->numOutputs() != 1 + n_carried + n_scan)
    return ctx.error(str("body returns ", body->numOutputs(), " values, expected ", 1 + n_carried + n_scan));
  int64_t max_trips = std::numeric_limits<int64_t>::max();
  if (ctx.hasInput(0)) {
    if (ctx.input(0).numel() != 1) return ctx.error("M must be a scalar");
    max_trips = ctx.input(0).getInt(0);
  }
  bool cond = ctx.hasInput(1) ? truthy(ctx.input(1)) : true;
  std::vector<RtValue> carried;
  for (int i = 2; i < ctx.numInputs(); ++i) {
    if (!ctx.hasInput(i)) return ctx.error(str("loop-carried input ", i, " is missing"));
    carried.push_back(ctx.inputValue(i));
  }
  std::vector<std::vector<Tensor>> scans(static_cast<size_t>(n_scan));
  for (int64_t it = 0; it < max_trips && cond; ++it) {
    std::vector<RtValue> args{RtValue::ofTensor(scalarI64(it)), RtValue::ofTensor(scalarBool(cond))};
    args.insert(args.end(), carried.begin(), carried.end());
    DLC_ASSIGN_OR_RETURN(auto outs, ctx.runRegion(*body, std::move(args)));
    cond = truthy(outs[0].tensor);
    for (int i = 0; i < n_carried; ++i) carried[static_cast<size_t>(i)] = std::move(outs[static_cast<size_t>(1 + i)]);
    for (int k = 0; k < n_scan; ++k) {
      const RtValue& v = outs[static_cast<size_t>(1 + n_carried + k)];
      if (v.is_sequence || v.is_none) return ctx.error("scan outputs must be tensors");
      scans[static_cast<size_t>(k)].push_back(v.tensor);
    }
  }
  for (int i = 0; i < n_carried; ++i) ctx.setOutputValue(i, std::move(carried[static_cast<size_t>(i)]));
  for (int k = 0; k < n_scan; ++k) {
    Tensor out;
    DLC_RETURN_IF_ERROR(stack(ctx, scans[static_cast<size_t>(k)], 0, ctx.op().result(n_carried + k)->type(), &out));
    ctx.setOutput(n_carried + k, out);
  }
  return Status::success();
}

// Attribute list entry i, or `fallback` when the list is absent.
int64_t listAt(const std::vector<int64_t>& v, size_t i, int64_t fallback) { return i < v.size() ? v[i] : fallback; }

Status kScan(KernelContext& ctx) {
  const Op& op = ctx.op();
  const Region* body = regionAttr(op, "body");
  if (!body) return ctx.error("body region is missing");
  const int m = static_cast<int>(op.getInt("num_scan_inputs"));
  const int n = ctx.numInputs() - m;
  const int k_out = ctx.numOutputs() - n;
  if (m < 1 || n < 0 || k_out < 0) return ctx.error("num_scan_inputs does not fit the inputs and outputs");
  if (body->numOutputs() != n + k_out) return ctx.error("body output count does not match the op's outputs");
  std::vector<int64_t> in_axes = op.getInts("scan_input_axes"), in_dirs = op.getInts("scan_input_directions");
  std::vector<int64_t> out_axes = op.getInts("scan_output_axes"), out_dirs = op.getInts("scan_output_directions");
  std::vector<int> axes;
  int64_t len = -1;
  for (int j = 0; j < m; ++j) {
    const Tensor& x = ctx.input(n + j);
    int a;
    if (!layout::normAxis(listAt(in_axes, static_cast<size_t>(j), 0), x.rank(), &a))
      return ctx.error(str("scan input axis for input ", n + j, " is out of range"));
    axes.push_back(a);
    if (len >= 0 && x.dim(a) != len) return ctx.error("scan inputs differ in sequence length");
    len = x.dim(a);
  }
  std::vector<RtValue> state;
  for (int i = 0; i < n; ++i) state.push_back(ctx.inputValue(i));
  std::vector<std::vector<Tensor>> outs(static_cast<size_t>(k_out));
  for (int64_t t = 0; t < len; ++t) {
    std::vector<RtValue> args = state;
    for (int j = 0; j < m; ++j) {
      const Tensor& x = ctx.input(n + j);
      int a = axes[static_cast<size_t>(j)];
      int64_t at = listAt(in_dirs, static_cast<size_t>(j), 0) ? len - 1 - t : t;
      std::vector<int64_t> s = x.shape();
      s.erase(s.begin() + a);
      args.push_back(RtValue::ofTensor(layout::takeAlongAxis(x, a, {at}).reshaped(s)));
    }
    DLC_ASSIGN_OR_RETURN(auto res, ctx.runRegion(*body, std::move(args)));
    for (int i = 0; i < n; ++i) state[static_cast<size_t>(i)] = std::move(res[static_cast<size_t>(i)]);
    for (int k = 0; k < k_out; ++k) outs[static_cast<size_t>(k)].push_back(res[static_cast<size_t>(n + k)].tensor);
  }
  for (int i = 0; i < n; ++i) ctx.setOutputValue(i, std::move(state[static_cast<size_t>(i)]));
  for (int k = 0; k < k_out; ++k) {
    auto& items = outs[static_cast<size_t>(k)];
    if (listAt(out_dirs, static_cast<size_t>(k), 0)) std::reverse(items.begin(), items.end());
    Tensor out;
    DLC_RETURN_IF_ERROR(stack(ctx, items, listAt(out_axes, static_cast<size_t>(k), 0), op.result(n + k)->type(), &out));
    ctx.setOutput(n + k, out);
  }
  return Status::success();
}

Status kSequenceMap(KernelContext& ctx) {
  const Region* body = regionAttr(ctx.op(), "body");
  if (!body) return ctx.error("body region is missing");
  if (!ctx.inputValue(0).is_sequence) return ctx.error("input 0 must be a sequence");
  const size_t len = ctx.inputValue(0).sequence.size();
  for (int i = 1; i < ctx.numInputs(); ++i)
    if (ctx.inputValue(i).is_sequence && ctx.inputValue(i).sequence.size() != len)
      return ctx.error(str("sequence input ", i, " has a different length"));
  std::vector<std::vector<Tensor>> outs(static_cast<size_t>(ctx.numOutputs()));
  for (size_t e = 0; e < len; ++e) {
    std::vector<RtValue> args;
    for (int i = 0; i < ctx.numInputs(); ++i) {
      const RtValue& v = ctx.inputValue(i);
      args.push_back(v.is_sequence ? RtValue::ofTensor(v.sequence[e]) : v);
    }
    DLC_ASSIGN_OR_RETURN(auto res, ctx.runRegion(*body, std::move(args)));
    if (static_cast<int>(res.size()) != ctx.numOutputs()) return ctx.error("body output count does not match");
    for (size_t k = 0; k < res.size(); ++k) outs[k].push_back(res[k].tensor);
  }
  for (size_t k = 0; k < outs.size(); ++k) ctx.setOutputValue(static_cast<int>(k), RtValue::ofSequence(std::move(outs[k])));
  return Status::success();
}

}  // namespace

void registerControlFlowKernels(KernelTable& table) {
  table[static_cast<size_t>(OpKind::If)] = kIf;
  table[static_cast<size_t>(OpKind::Loop)] = kLoop;
  table[static_cast<size_t>(OpKind::Scan)] = kScan;
  table[static_cast<size_t>(OpKind::SequenceMap)] = kSequenceMap;
  registerSequenceKernels(table);
}

}  // namespace dlc::ref
