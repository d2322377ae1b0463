// Holding pruned weights at zero while a model trains: each pruned weight W is read as W·M, M its
// 0/1 mask (a constant the trainer is told to freeze), so the gradient of W is zero wherever M is
// and W stays what pruning made it there; afterwards W·M is folded back into one constant.
#pragma once

#include <string>
#include <vector>

#include "ir/graph.h"
#include "ir/status.h"

namespace dlc::prune {

// Reads every constant f32 weight named in `weights` (value names) through Mul(W, M) with M = (W
// != 0); returns the masks' value names (for the trainer's freeze list).
Expected<std::vector<std::string>> insertMasks(Graph& g, const std::vector<std::string>& weights);

// Replaces each Mul(W, M) insertMasks made by the constant W·M; true zeros where M is 0.
Status foldMasks(Graph& g, const std::vector<std::string>& masks);

}  // namespace dlc::prune
