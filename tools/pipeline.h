// Runs a target's default pipeline (or a given pass list) on a graph, for `dlc run/opt/inspect`.
#pragma once

#include <string>
#include <vector>

#include "ir/graph.h"
#include "passes/pass_manager.h"

namespace dlc::cli {

// A pass context for `target` with constant folding through the reference kernels and the
// --input-shape specializations (NAME=1x3x224x224, parsed here).
Expected<passes::PassContext> makePassContext(const std::string& target, const std::vector<std::string>& input_shapes);

// Runs the default pipeline of ctx.target at `opt_level`.
Status optimize(Graph& graph, const passes::PassContext& ctx, int opt_level,
                const passes::PassManagerOptions& options = {});

// Parses "-O2"-style levels given as the option value ("0".."3").
Expected<int> parseOptLevel(const std::string& text);

}  // namespace dlc::cli
