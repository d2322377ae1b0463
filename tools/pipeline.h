// Runs a target's default pipeline (or a given pass list) on a graph, for `dlc run/opt/inspect`.
#pragma once

#include <functional>
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

// Gives every unnamed value a name, and every op `is_layer` picks a location of its own: the
// compression tools refer to tensors by name (calibration statistics) and to layers by location
// (--exclude, reports, searches), and ONNX node names are optional and need not be unique.
void nameValuesAndLayers(Graph& g, const std::function<bool(const Op&)>& is_layer);

// Parses "-O2"-style levels given as the option value ("0".."3").
Expected<int> parseOptLevel(const std::string& text);

}  // namespace dlc::cli
