// The Taylor criterion of channel pruning (Molchanov et al., "Importance Estimation for Neural
// Network Pruning", CVPR 2019): removing a channel removes every parameter its group slices with
// it, and the first-order estimate of the loss change is Σ g·w over those parameters. A channel's
// importance is that sum squared, averaged over calibration batches (each batch's mean-loss
// gradient), so channels the loss needs rank first even where the mean gradient is near zero.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "passes/prune/channel.h"

namespace dlc::prune {

class TaylorImportance {
 public:
  // `groups` from analyzeChannels of `g`, whose constants must outlive this object unchanged.
  TaylorImportance(const ChannelResult& groups, const Graph& g);
  // One batch's gradients by parameter name (a parameter without one counts for nothing).
  void addBatch(const std::map<std::string, Tensor>& gradients);
  // Per group, per channel: the mean over the batches (ChannelOptions::scores).
  std::vector<std::vector<double>> scores() const;
  int64_t batches() const { return batches_; }

 private:
  struct Term {
    size_t group;
    const Tensor* value;
    std::string name;
    SliceIndex index;
  };
  std::vector<Term> terms_;
  std::vector<std::vector<double>> sums_;  // per group, per channel: Σ over batches of (Σ g·w)²
  int64_t batches_ = 0;
};

}  // namespace dlc::prune
