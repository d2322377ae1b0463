// Ranking, slicing and FLOP counting for channel pruning (channel_group.h).
#include "passes/prune/channel_group.h"

#include <cmath>
#include <cstring>
#include <numeric>

#include "passes/pattern.h"

namespace dlc::prune {

int64_t staticDim(const Value* v, int axis) {
  const Shape& s = v->type().shape;
  if (!v->type().isTensor() || !s.ranked || axis < 0 || axis >= s.rank() || !s.dims[axis].isStatic()) return -1;
  return s.dims[axis].value;
}

int rankOf(const Value* v) {
  return v && v->type().isTensor() && v->type().shape.ranked ? v->type().shape.rank() : -1;
}

const Tensor* f32Constant(const Value* v) {
  const Tensor* t = v ? passes::constantValue(v) : nullptr;
  return t && t->dtype() == DType::F32 ? t : nullptr;
}

std::vector<double> criterionScores(const Group& g, Criterion criterion) {
  std::vector<double> score(static_cast<size_t>(g.channels), 0.0);
  if (criterion == Criterion::BnGamma && !g.norms.empty()) {
    for (const Op* bn : g.norms) {
      const Tensor& s = *f32Constant(bn->operand(1));
      for (int64_t c = 0; c < g.channels; ++c) score[static_cast<size_t>(c)] += std::fabs(s.getDouble(c));
    }
    return score;
  }
  const bool l2 = criterion == Criterion::L2;
  for (const Slice& s : g.slices) {
    if (!s.producer_weight) continue;
    const Tensor& w = *f32Constant(s.op->operand(s.operand));
    std::vector<double> norm(static_cast<size_t>(g.channels), 0.0);
    const SliceIndex index(w, s.axis, s.block, s.repeat);
    for (int64_t i = 0; i < w.numel(); ++i) {
      const double v = w.getDouble(i);
      norm[static_cast<size_t>(index.channel(i))] += l2 ? v * v : std::fabs(v);
    }
    for (int64_t c = 0; c < g.channels; ++c) score[static_cast<size_t>(c)] += l2 ? std::sqrt(norm[static_cast<size_t>(c)]) : norm[static_cast<size_t>(c)];
  }
  return score;
}

// The axis viewed as [repeat, channels·block]: the repeats become outer rows.
Tensor slicedConstant(const Tensor& t, int axis, const std::vector<int64_t>& kept, int64_t block, int64_t repeat) {
  std::vector<int64_t> shape = t.shape();
  const int64_t outer = std::accumulate(shape.begin(), shape.begin() + axis, int64_t{1}, std::multiplies<>()) * repeat;
  const int64_t inner = std::accumulate(shape.begin() + axis + 1, shape.end(), int64_t{1}, std::multiplies<>());
  const int64_t dim = shape[static_cast<size_t>(axis)] / repeat;
  shape[static_cast<size_t>(axis)] = static_cast<int64_t>(kept.size()) * block * repeat;
  Tensor out(t.dtype(), shape);
  const size_t es = dtypeSize(t.dtype());
  const auto* src = static_cast<const uint8_t*>(t.raw());
  auto* dst = static_cast<uint8_t*>(out.raw());
  const size_t run = static_cast<size_t>(block * inner) * es;
  for (int64_t o = 0; o < outer; ++o)
    for (size_t k = 0; k < kept.size(); ++k)
      std::memcpy(dst + ((o * static_cast<int64_t>(kept.size()) + static_cast<int64_t>(k)) * block * inner) * static_cast<int64_t>(es),
                  src + ((o * dim + kept[k] * block) * inner) * static_cast<int64_t>(es), run);
  return out;
}

void countFlops(const Graph& g, const std::unordered_map<const Op*, double>& in_ratio,
                const std::unordered_map<const Op*, double>& out_ratio, ChannelResult& r) {
  auto ratioOf = [](const std::unordered_map<const Op*, double>& m, const Op* op) {
    auto it = m.find(op);
    return it == m.end() ? 1.0 : it->second;
  };
  for (const auto& owned : g.body().ops()) {
    const Op& op = *owned;
    double f = 0;
    const Value* y = op.numResults() ? op.result() : nullptr;
    auto outElements = [&](int skip_from) {  // result elements, batch 1, dims from skip_from on
      double n = 1;
      for (int d = skip_from; d < rankOf(y); ++d) n *= std::max<int64_t>(staticDim(y, d), 1);
      return n;
    };
    if (op.kind() == OpKind::Conv) {
      const Tensor* w = f32Constant(op.operand(1));
      if (!w || rankOf(y) < 3) continue;
      f = 2.0 * static_cast<double>(w->numel()) * outElements(2);
    } else if (op.kind() == OpKind::Gemm || op.kind() == OpKind::MatMul) {
      const Tensor* b = f32Constant(op.operand(1));
      if (!b || b->rank() != 2 || rankOf(y) < 1) continue;
      f = 2.0 * static_cast<double>(b->numel()) * (rankOf(y) >= 2 ? outElements(1) / std::max<int64_t>(staticDim(y, rankOf(y) - 1), 1) : 1.0);
    } else {
      continue;
    }
    r.flops_before += f;
    r.flops_after += f * ratioOf(in_ratio, &op) * ratioOf(out_ratio, &op);
  }
}

}  // namespace dlc::prune
