// Unstructured magnitude pruning and N:M (2:4) semi-structured pruning (magnitude.h).
#include "passes/prune/magnitude.h"

#include <algorithm>
#include <cmath>
#include <numeric>

#include "ir/builder.h"
#include "passes/pattern.h"

namespace dlc::prune {
namespace {

// One prunable weight: the op, which operand, and how its elements group along the reduction
// axis (groups of `reduce` consecutive-in-reduction elements; element j of group g lies at
// g_base(g) + j * stride).
struct Target {
  Op* op = nullptr;
  int operand = 1;
  Tensor weight;
  int64_t rows = 0, reduce = 0, row_stride = 0, elem_stride = 1;  // row r, element j: r-th row base + j*elem_stride
  bool nm_ok = true;  // the rows are the reduction's (false: grouped ConvTranspose)
  int64_t rowBase(int64_t r) const { return row_stride ? r * row_stride : r; }
};

const Tensor* floatConstant(const Value* v) {
  const Tensor* t = passes::constantValue(v);
  return t && t->dtype() == DType::F32 ? t : nullptr;
}

// The prunable weights of `op` with their reduction layout; `why` says why none when empty.
std::vector<Target> targetsOf(Op& op, std::string* why) {
  std::vector<Target> out;
  auto add = [&](int i, int64_t rows, int64_t reduce, int64_t row_stride, int64_t elem_stride) {
    const Tensor* w = op.numOperands() > i ? floatConstant(op.operand(i)) : nullptr;
    if (!w) return false;
    Target t;
    t.op = &op;
    t.operand = i;
    t.weight = *w;
    t.rows = rows, t.reduce = reduce, t.row_stride = row_stride, t.elem_stride = elem_stride;
    out.push_back(std::move(t));
    return true;
  };
  const Tensor* w = op.numOperands() > 1 ? floatConstant(op.operand(1)) : nullptr;
  switch (op.kind()) {
    case OpKind::Conv: case OpKind::ConvTranspose: {
      if (!w || w->rank() < 3) break;
      // Conv W [M, C/G, k...]: each output channel's row is contiguous. ConvTranspose W [C, M/G, k...]
      // reduces over C and the kernel for each output channel: rows strided by the kernel size.
      const int64_t per = w->numel() / w->dim(0);
      if (op.kind() == OpKind::Conv) {
        add(1, w->dim(0), per, per, 1);
      } else {
        // Output channel o (within its group) and tap t reduce over the input channels c: elements
        // c·per + o·kernel + t, so row r = o·kernel + t starts at r. With groups a row mixes
        // groups' channels: fine for magnitude pruning, not a reduction for n:m.
        const int64_t kernel = per / w->dim(1);
        if (add(1, w->dim(1) * kernel, w->dim(0), 0, per)) out.back().nm_ok = op.getInt("group", 1) == 1;
      }
      break;
    }
    case OpKind::MatMul:
      if (!w || w->rank() != 2) break;
      add(1, w->dim(1), w->dim(0), 0, w->dim(1));  // column n: elements k * N + n
      break;
    case OpKind::Gemm:
      if (!w || w->rank() != 2 || op.getInt("transA", 0) != 0) break;
      if (op.getInt("transB", 0) != 0) add(1, w->dim(0), w->dim(1), w->dim(1), 1);  // row n of [N, K]
      else add(1, w->dim(1), w->dim(0), 0, w->dim(1));
      break;
    case OpKind::LSTM: case OpKind::GRU: case OpKind::RNN:
      for (int i : {1, 2}) {
        const Tensor* r = op.numOperands() > i ? floatConstant(op.operand(i)) : nullptr;
        if (r && r->rank() == 3) add(i, r->dim(0) * r->dim(1), r->dim(2), r->dim(2), 1);
      }
      break;
    default:
      break;
  }
  if (out.empty() && why) *why = "its weight is not a constant f32 tensor of the expected rank";
  return out;
}

bool prunable(OpKind k) {
  return k == OpKind::Conv || k == OpKind::ConvTranspose || k == OpKind::MatMul || k == OpKind::Gemm || k == OpKind::LSTM ||
         k == OpKind::GRU || k == OpKind::RNN;
}

// Zeroes the `count` entries of smallest |value| among `items` (|w|, target, index), ties by position.
void zeroSmallest(std::vector<std::tuple<float, size_t, int64_t>>& items, int64_t count, std::vector<Target>& targets) {
  if (count <= 0) return;
  std::nth_element(items.begin(), items.begin() + (count - 1), items.end());
  std::sort(items.begin(), items.begin() + count);
  for (int64_t i = 0; i < count; ++i) {
    auto [mag, t, idx] = items[static_cast<size_t>(i)];
    targets[t].weight.data<float>()[idx] = 0.0f;
  }
}

}  // namespace

Expected<PruneResult> pruneWeights(Graph& g, const PruneOptions& o) {
  if (!(o.sparsity >= 0.0 && o.sparsity < 1.0)) return Status::error(str("--sparsity ", o.sparsity, " is outside [0, 1)"));
  if (o.method == Method::NM && !(o.n > 0 && o.m > o.n)) return Status::error(str("pattern ", o.n, ":", o.m, " must have 0 < n < m"));
  PruneResult result;
  std::vector<Target> targets;
  std::set<std::string> seen_nodes;
  for (const auto& owned : g.body().ops()) {
    Op& op = *owned;
    if (!prunable(op.kind())) continue;
    seen_nodes.insert(op.location());
    if (o.exclude.count(op.location())) {
      result.skipped.push_back({op.location(), op.name(), "excluded by --exclude"});
      continue;
    }
    std::string why;
    std::vector<Target> ts = targetsOf(op, &why);
    if (ts.empty()) {
      result.skipped.push_back({op.location(), op.name(), why});
      continue;
    }
    if (o.method == Method::NM) {
      bool fits = true;
      bool grouped = false;
      for (const Target& t : ts) {
        fits = fits && t.reduce % o.m == 0;
        grouped = grouped || !t.nm_ok;
      }
      if (grouped) {
        result.skipped.push_back({op.location(), op.name(), "a grouped ConvTranspose (n:m needs one reduction per row)"});
        continue;
      }
      if (!fits) {
        result.skipped.push_back({op.location(), op.name(), str("its reduction size is not a multiple of ", o.m)});
        continue;
      }
    }
    for (Target& t : ts) targets.push_back(std::move(t));
  }
  for (const std::string& e : o.exclude)
    if (!seen_nodes.count(e)) return Status::error(str("--exclude ", e, ": no Conv, MatMul, Gemm or RNN node has that name"));
  if (targets.empty()) {
    std::string why;
    for (const auto& s : result.skipped) why += str(why.empty() ? "" : "; ", s.node, " (", s.op_type, "): ", s.reason);
    return Status::error(str("nothing to prune (dlc prunes Conv, ConvTranspose, MatMul, Gemm and LSTM/GRU/RNN weights)",
                             why.empty() ? "" : ": " + why));
  }

  if (o.method == Method::Magnitude) {
    if (o.global) {
      std::vector<std::tuple<float, size_t, int64_t>> items;
      int64_t total = 0;
      for (size_t t = 0; t < targets.size(); ++t) {
        const float* w = targets[t].weight.data<float>();
        for (int64_t i = 0; i < targets[t].weight.numel(); ++i) items.emplace_back(std::fabs(w[i]), t, i);
        total += targets[t].weight.numel();
      }
      zeroSmallest(items, static_cast<int64_t>(std::floor(o.sparsity * static_cast<double>(total))), targets);
    } else {
      for (size_t t = 0; t < targets.size(); ++t) {
        std::vector<std::tuple<float, size_t, int64_t>> items;
        const float* w = targets[t].weight.data<float>();
        for (int64_t i = 0; i < targets[t].weight.numel(); ++i) items.emplace_back(std::fabs(w[i]), t, i);
        zeroSmallest(items, static_cast<int64_t>(std::floor(o.sparsity * static_cast<double>(targets[t].weight.numel()))), targets);
      }
    }
  } else {
    for (Target& t : targets) {
      float* w = t.weight.data<float>();
      for (int64_t r = 0; r < t.rows; ++r)
        for (int64_t g0 = 0; g0 < t.reduce; g0 += o.m) {
          std::vector<std::pair<float, int64_t>> group;
          for (int64_t j = g0; j < g0 + o.m; ++j) {
            const int64_t idx = t.rowBase(r) + j * t.elem_stride;
            group.emplace_back(std::fabs(w[idx]), idx);
          }
          std::sort(group.begin(), group.end());
          for (int k = 0; k < o.m - o.n; ++k) w[group[static_cast<size_t>(k)].second] = 0.0f;
        }
    }
  }

  // The pruned copies replace the weights (a new constant per weight: the old one may be shared).
  for (Target& t : targets) {
    Builder b(g.body());
    b.setInsertionPoint(t.op);
    const std::string name = t.op->operand(t.operand)->name();
    LayerReport r{t.op->location(), t.op->name(), name, t.weight.numel(), 0};
    const float* w = t.weight.data<float>();
    for (int64_t i = 0; i < t.weight.numel(); ++i) r.zeros += w[i] == 0.0f;
    Value* pruned = b.constant(std::move(t.weight), name + "_pruned");
    r.pruned_value = pruned->name();
    t.op->setOperand(t.operand, pruned);
    result.layers.push_back(r);
  }
  return result;
}

}  // namespace dlc::prune
