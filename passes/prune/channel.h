// Structured channel pruning: a dependency analysis that groups every tensor dimension which must
// shrink together, a ranking of each group's channels, and the surgery that removes the dropped
// ones from every weight that reads or writes them. The result is a smaller dense graph.
//
// A group starts at a producer (Conv with group 1, Gemm, 2-D-weight MatMul: its output channels)
// and follows the channel axis (axis 1 of NCHW tensors, the last axis of [.., features] ones)
// through ops that keep it: elementwise ops (a constant operand with that axis is sliced too; two
// activations that both carry groups join them: residual sums, squeeze-excitation products),
// BatchNormalization, pooling, depthwise Conv (group = channels: sliced, not a producer), and
// Flatten or Reshape to [N, -1] (the channel becomes a block of H·W features). It ends where
// a Conv (input channels), Gemm or MatMul (K, in blocks after a Flatten) reads it. A Concat along
// the channels makes a group of its own whose kept channels are its inputs' kept ones at their
// offsets. A group that reaches anything else (a graph output, Transpose, Split, a Reshape of
// another form, an op this analysis does not know) stays whole, with the reason in the report.
#pragma once

#include <set>
#include <string>
#include <vector>

#include "ir/graph.h"
#include "ir/status.h"
#include "ir/tensor.h"

namespace dlc::prune {

enum class Criterion {
  L1,       // sum over the group's producers of |w| of the channel's output weights
  L2,       // the same with w^2 (then the square root)
  BnGamma,  // sum of |gamma| of the group's BatchNormalizations (network slimming)
  Taylor,   // ChannelOptions::scores, from gradients on calibration data (taylor.h)
};

struct ChannelOptions {
  double sparsity = 0.5;      // fraction of each group's channels removed
  int64_t min_channels = 8;   // no group drops below this (or its own size, if smaller)
  Criterion criterion = Criterion::L1;
  std::set<std::string> exclude;  // producer node names whose group stays whole
  // Taylor: a score per channel of each group, in analyzeChannels' group order (higher: kept first).
  std::vector<std::vector<double>> scores;
};

// A constant sliced with a group: along `axis`, channel c owns the indices
// {r·(channels·block) + c·block + j : r < repeat, j < block}.
struct ChannelSlice {
  std::string constant;  // the constant's value name
  int axis = 0;
  int64_t block = 1, repeat = 1;
};

// Which channel of the group an element (a flat index) of a constant sliced along `axis` belongs to.
class SliceIndex {
 public:
  SliceIndex(const Tensor& t, int axis, int64_t block, int64_t repeat) : dim_(t.dim(axis)), per_repeat_(t.dim(axis) / repeat), block_(block) {
    for (int d = axis + 1; d < t.rank(); ++d) inner_ *= t.dim(d);
  }
  int64_t channel(int64_t element) const { return ((element / inner_) % dim_) % per_repeat_ / block_; }

 private:
  int64_t inner_ = 1, dim_, per_repeat_, block_;
};

struct ChannelGroup {
  int64_t channels = 0;
  std::vector<int64_t> kept;            // channel indices kept, ascending (all when not pruned)
  std::vector<std::string> producers;   // node names
  std::vector<std::string> consumers;   // node names reading the channels (Conv, Gemm, MatMul)
  std::string frozen;                   // why the group stays whole; empty when prunable
  std::vector<ChannelSlice> slices;     // every constant that shrinks with the group
};

struct ChannelResult {
  std::vector<ChannelGroup> groups;
  double flops_before = 0, flops_after = 0;  // multiply-adds x 2 of Conv/Gemm/MatMul, batch 1
};

// The groups of `g` and what pruning with `options` would keep, without changing `g`.
Expected<ChannelResult> analyzeChannels(const Graph& g, const ChannelOptions& options);

// Prunes `g` in place as analyzeChannels describes, then re-infers its types.
Expected<ChannelResult> pruneChannels(Graph& g, const ChannelOptions& options);

// The uniform sparsity whose pruned graph has at most `flops_ratio` of the FLOPs (a bisection
// over analyzeChannels), for --target-flops.
Expected<double> sparsityForFlops(const Graph& g, ChannelOptions options, double flops_ratio);

}  // namespace dlc::prune
