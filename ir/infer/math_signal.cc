// Shape and type inference for Einsum, the signal ops (windows, DFT, STFT, mel) and the text ops.
#include <algorithm>
#include <cctype>
#include <map>

#include "ir/dtype_onnx.h"
#include "ir/infer/infer.h"
#include "ir/tensor.h"

namespace dlc::infer {
namespace {

bool constantInt(InferContext& ctx, int i, int64_t* out) {
  const Tensor* t = ctx.constantInput(i);
  if (!t || t->numel() != 1 || t->dtype() == DType::String) return false;
  *out = t->getInt(0);
  return true;
}

Status outputDType(InferContext& ctx, DType* out) {
  auto d = dtypeFromOnnxCode(ctx.op().getInt("output_datatype", 1));
  if (!d || *d == DType::String) return ctx.error("unsupported output_datatype");
  *out = *d;
  return Status::success();
}

Status windowRule(InferContext& ctx) {
  DType dt;
  DLC_RETURN_IF_ERROR(outputDType(ctx, &dt));
  int64_t n = 0;
  Dim d = constantInt(ctx, 0, &n) ? Dim::of(n) : Dim::unknown();
  ctx.setOutput(0, Type::tensor(dt, Shape(std::vector<Dim>{d})));
  return Status::success();
}

}  // namespace

Status inferHannWindow(InferContext& ctx) { return windowRule(ctx); }
Status inferHammingWindow(InferContext& ctx) { return windowRule(ctx); }
Status inferBlackmanWindow(InferContext& ctx) { return windowRule(ctx); }

Status inferDFT(InferContext& ctx) {
  const Type* x = ctx.inputType(0);
  if (!x || !x->isTensor()) return ctx.error("input 0 must be a tensor");
  if (!x->shape.ranked) {
    ctx.setOutput(0, Type::tensor(x->dtype));
    return Status::success();
  }
  const int rank = x->shape.rank();
  if (rank < 2) return ctx.error("input must be [batch, ..., 1 or 2]");
  int axis = 0;
  int64_t a = ctx.op().getInt("axis", 1);
  Status s = normalizeAxis(a, rank - 1, &axis);
  if (!s.ok() || axis == 0 || axis >= rank - 1) return ctx.error(str("axis ", a, " must name a signal dimension"));
  Shape out = x->shape;
  Dim len = out.dims[static_cast<size_t>(axis)];
  int64_t n = 0;
  if (ctx.hasInput(1)) len = constantInt(ctx, 1, &n) ? Dim::of(n) : Dim::unknown();
  if (ctx.op().getInt("onesided", 0) != 0) len = len.isStatic() ? Dim::of(len.value / 2 + 1) : Dim::unknown();
  out.dims[static_cast<size_t>(axis)] = len;
  out.dims.back() = Dim::of(2);
  ctx.setOutput(0, Type::tensor(x->dtype, std::move(out)));
  return Status::success();
}

Status inferSTFT(InferContext& ctx) {
  const Type* x = ctx.inputType(0);
  if (!x || !x->isTensor()) return ctx.error("input 0 must be a tensor");
  if (x->shape.ranked && x->shape.rank() != 3) return ctx.error("signal must be [batch, length, 1 or 2]");
  Dim batch = x->shape.ranked ? x->shape.dims[0] : Dim::unknown();
  Dim sig = x->shape.ranked ? x->shape.dims[1] : Dim::unknown();
  int64_t flen = -1, step = -1, v = 0;
  if (const Type* w = ctx.inputType(2))
    if (w->shape.ranked && w->shape.rank() == 1 && w->shape.dims[0].isStatic()) flen = w->shape.dims[0].value;
  if (ctx.hasInput(3) && constantInt(ctx, 3, &v)) flen = v;
  if (constantInt(ctx, 1, &v)) step = v;
  Dim frames = Dim::unknown(), bins = Dim::unknown();
  if (flen > 0) bins = Dim::of(ctx.op().getInt("onesided", 1) != 0 ? flen / 2 + 1 : flen);
  if (flen > 0 && step > 0 && sig.isStatic()) {
    if (sig.value < flen) return ctx.error("signal is shorter than one frame");
    frames = Dim::of((sig.value - flen) / step + 1);
  }
  ctx.setOutput(0, Type::tensor(x->dtype, Shape(std::vector<Dim>{batch, frames, bins, Dim::of(2)})));
  return Status::success();
}

Status inferMelWeightMatrix(InferContext& ctx) {
  DType dt;
  DLC_RETURN_IF_ERROR(outputDType(ctx, &dt));
  int64_t mel = 0, dft = 0;
  Dim rows = constantInt(ctx, 1, &dft) ? Dim::of(dft / 2 + 1) : Dim::unknown();
  Dim cols = constantInt(ctx, 0, &mel) ? Dim::of(mel) : Dim::unknown();
  ctx.setOutput(0, Type::tensor(dt, Shape(std::vector<Dim>{rows, cols})));
  return Status::success();
}

Status inferStringNormalizer(InferContext& ctx) {
  const Type* x = ctx.inputType(0);
  if (!x || !x->isTensor() || x->dtype != DType::String) return ctx.error("input must be a string tensor");
  Shape out = Shape(std::vector<Dim>{Dim::unknown()});
  if (x->shape.ranked && x->shape.rank() == 2) out.dims.insert(out.dims.begin(), Dim::of(1));
  else if (x->shape.ranked && x->shape.rank() != 1) return ctx.error("input must be [C] or [1, C]");
  ctx.setOutput(0, Type::tensor(DType::String, std::move(out)));
  return Status::success();
}

Status inferTfIdfVectorizer(InferContext& ctx) {
  const Type* x = ctx.inputType(0);
  if (!x || !x->isTensor()) return ctx.error("input 0 must be a tensor");
  int64_t width = 0;
  for (int64_t i : ctx.op().getInts("ngram_indexes")) width = std::max(width, i + 1);
  Shape out(std::vector<Dim>{Dim::of(width)});
  if (!x->shape.ranked) out = Shape::unranked();
  else if (x->shape.rank() == 2) out.dims.insert(out.dims.begin(), x->shape.dims[0]);
  else if (x->shape.rank() != 1) return ctx.error("input must be [N] or [B, N]");
  ctx.setOutput(0, Type::tensor(DType::F32, std::move(out)));
  return Status::success();
}

// Einsum: labels take their dims from the operands; ellipsis dims broadcast; implicit output is
// the ellipsis followed by the labels used once, in alphabetical order.
Status inferEinsum(InferContext& ctx) {
  std::string eq;
  for (char c : ctx.op().getString("equation"))
    if (c != ' ') eq += c;
  size_t arrow = eq.find("->");
  std::string lhs = eq.substr(0, arrow);
  std::vector<std::string> terms;
  for (size_t start = 0;;) {
    size_t comma = lhs.find(',', start);
    terms.push_back(lhs.substr(start, comma == std::string::npos ? std::string::npos : comma - start));
    if (comma == std::string::npos) break;
    start = comma + 1;
  }
  if (static_cast<int>(terms.size()) != ctx.numInputs())
    return ctx.error(str("equation has ", terms.size(), " operands but ", ctx.numInputs(), " inputs are given"));
  std::map<char, Dim> dims;
  std::map<char, int> uses;
  std::vector<Shape> ellipses;
  DType dt = DType::Undefined;
  for (size_t k = 0; k < terms.size(); ++k) {
    const Type* t = ctx.inputType(static_cast<int>(k));
    if (!t || !t->isTensor()) return ctx.error(str("input ", k, " must be a tensor"));
    dt = t->dtype;
    std::string letters;
    bool ell = false;
    for (size_t i = 0; i < terms[k].size(); ++i) {
      if (terms[k][i] == '.') {
        if (terms[k].compare(i, 3, "...") != 0 || ell) return ctx.error("malformed ellipsis");
        ell = true;
        i += 2;
        letters += '.';
      } else if (std::isalpha(static_cast<unsigned char>(terms[k][i]))) {
        letters += terms[k][i];
      } else {
        return ctx.error(str("unexpected character '", terms[k][i], "' in equation"));
      }
    }
    for (char c : letters)
      if (c != '.') ++uses[c];
    if (!t->shape.ranked) {
      ctx.setOutput(0, Type::tensor(dt));
      return Status::success();
    }
    const int named = static_cast<int>(letters.size()) - (ell ? 1 : 0);
    const int rank = t->shape.rank();
    if (ell ? rank < named : rank != named)
      return ctx.error(str("operand ", k, " has rank ", rank, " but its term names ", named, " dims"));
    int d = 0;
    for (char c : letters) {
      if (c == '.') {
        int e = rank - named;
        ellipses.push_back(Shape(std::vector<Dim>(t->shape.dims.begin() + d, t->shape.dims.begin() + d + e)));
        d += e;
        continue;
      }
      const Dim& dim = t->shape.dims[static_cast<size_t>(d++)];
      auto it = dims.find(c);
      if (it == dims.end() || (it->second.isStatic() && it->second.value == 1)) {
        dims[c] = dim;
      } else if (dim.isStatic() && it->second.isStatic() && dim.value != 1 && dim.value != it->second.value) {
        return ctx.error(str("label '", c, "' has sizes ", it->second.value, " and ", dim.value));
      } else if (!it->second.isStatic() && dim.isStatic() && dim.value != 1) {
        it->second = dim;
      }
    }
  }
  Shape ell_shape;
  Status s = broadcastShapes(ellipses.empty() ? std::vector<Shape>{Shape()} : ellipses, &ell_shape);
  if (!s.ok()) return ctx.error(s.message());
  Shape out;
  if (arrow != std::string::npos) {
    std::string rhs = eq.substr(arrow + 2);
    for (size_t i = 0; i < rhs.size(); ++i) {
      if (rhs[i] == '.') {
        if (rhs.compare(i, 3, "...") != 0) return ctx.error("malformed ellipsis");
        out.dims.insert(out.dims.end(), ell_shape.dims.begin(), ell_shape.dims.end());
        i += 2;
      } else if (dims.count(rhs[i])) {
        out.dims.push_back(dims[rhs[i]]);
      } else {
        return ctx.error(str("output label '", rhs[i], "' does not appear in the inputs"));
      }
    }
  } else {
    out.dims = ell_shape.dims;
    for (auto& [c, n] : uses)
      if (n == 1) out.dims.push_back(dims[c]);
  }
  ctx.setOutput(0, Type::tensor(dt, std::move(out)));
  return Status::success();
}

}  // namespace dlc::infer
