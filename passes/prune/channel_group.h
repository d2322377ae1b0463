// The channel analysis's groups (channel.cc's internals): what a group slices, and the ranking,
// slicing and FLOP counting that work on them (channel_rank.cc).
#pragma once

#include <string>
#include <unordered_map>
#include <vector>

#include "ir/graph.h"
#include "passes/prune/channel.h"
#include "passes/prune/channel_shapes.h"

namespace dlc::prune {

// A constant operand that follows a group's channels along `axis`: channel c owns the indices
// {r·(channels·block) + c·block + j : r < repeat, j < block} of that axis.
struct Slice {
  const Op* op = nullptr;
  int operand = 0;
  int axis = 0;
  int64_t block = 1;
  bool producer_weight = false;  // a producer's weight (what L1/L2 rank)
  int64_t repeat = 1;
};

// A Concat's channels are its inputs' channels one after another, and a Split's input's are its
// outputs' (or its Slices' along the channels): a derived group whose kept set is its parts' (a
// part of group -1 is an input, or a run of channels no Slice takes, that no group covers: kept
// whole).
struct Part {
  int group = -1;
  int64_t offset = 0, channels = 0;
};

struct Group {
  int parent = 0;
  int64_t channels = 0;
  std::vector<const Op*> producers, consumers, depthwise, norms;
  std::vector<Slice> slices;
  std::vector<ShapeElement> edits;  // Reshape shape elements proportional to the channel count
  std::vector<Part> parts;          // a Concat's group, or a Split's input's; empty otherwise
  bool feeds_concat = false;
  const Op* split = nullptr;        // the Split whose sizes follow the parts
  std::vector<const Op*> channel_slices;  // or the Slices whose bounds do
  int source = -1;                  // a Split's (or Slice's) output: the input's group, ranked at source_offset
  int64_t source_offset = 0;
  std::string frozen;
};

int64_t staticDim(const Value* v, int axis);  // -1 when not static
int rankOf(const Value* v);                   // -1 when unranked
const Tensor* f32Constant(const Value* v);

// Per channel of `g`: the sum over its producers' weights of the L1 or L2 norm of the channel's
// weights, or (BnGamma, where it has BatchNorms) of |gamma|.
std::vector<double> criterionScores(const Group& g, Criterion criterion);

// `t` with only the `kept` channels along `axis` (Slice's layout).
Tensor slicedConstant(const Tensor& t, int axis, const std::vector<int64_t>& kept, int64_t block, int64_t repeat);

// Conv/Gemm/MatMul FLOPs of `g` (2 per multiply-add, batch 1) into r.flops_before, and times each
// op's input and output channel ratios into r.flops_after.
void countFlops(const Graph& g, const std::unordered_map<const Op*, double>& in_ratio,
                const std::unordered_map<const Op*, double>& out_ratio, ChannelResult& r);

}  // namespace dlc::prune
