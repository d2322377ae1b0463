// The Taylor criterion's accumulation (taylor.h).
#include "passes/prune/taylor.h"

#include <unordered_map>

#include "passes/pattern.h"

namespace dlc::prune {

TaylorImportance::TaylorImportance(const ChannelResult& groups, const Graph& graph) {
  std::unordered_map<std::string, const Tensor*> constants;
  for (const auto& op : graph.body().ops())
    if (const Tensor* t = op->kind() == OpKind::Constant ? passes::constantValue(op->result()) : nullptr) constants[op->result()->name()] = t;
  for (size_t k = 0; k < groups.groups.size(); ++k) {
    const ChannelGroup& g = groups.groups[k];
    sums_.emplace_back(static_cast<size_t>(g.channels), 0.0);
    for (const ChannelSlice& s : g.slices) {
      auto it = constants.find(s.constant);
      if (it == constants.end() || it->second->dtype() != DType::F32) continue;
      // Constants without a gradient (running statistics) are skipped in addBatch.
      terms_.push_back({k, it->second, s.constant, SliceIndex(*it->second, s.axis, s.block, s.repeat)});
    }
  }
}

void TaylorImportance::addBatch(const std::map<std::string, Tensor>& gradients) {
  std::vector<std::vector<double>> batch(sums_.size());
  for (size_t k = 0; k < sums_.size(); ++k) batch[k].assign(sums_[k].size(), 0.0);
  for (const Term& t : terms_) {
    auto it = gradients.find(t.name);
    if (it == gradients.end() || it->second.dtype() != DType::F32 || it->second.numel() != t.value->numel()) continue;
    const float* w = static_cast<const float*>(t.value->raw());
    const float* g = static_cast<const float*>(it->second.raw());
    std::vector<double>& sum = batch[t.group];
    for (int64_t i = 0; i < it->second.numel(); ++i)
      sum[static_cast<size_t>(t.index.channel(i))] += static_cast<double>(g[i]) * static_cast<double>(w[i]);
  }
  for (size_t k = 0; k < sums_.size(); ++k)
    for (size_t c = 0; c < sums_[k].size(); ++c) sums_[k][c] += batch[k][c] * batch[k][c];
  ++batches_;
}

std::vector<std::vector<double>> TaylorImportance::scores() const {
  std::vector<std::vector<double>> out = sums_;
  for (auto& group : out)
    for (double& v : group) v /= static_cast<double>(std::max<int64_t>(1, batches_));
  return out;
}

}  // namespace dlc::prune
