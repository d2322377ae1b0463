// Why recognition declined: patterns that found the start of what they look for (an attention's
// Softmax feeding a head merge, a LayerNorm's centered value over a square root, ...) say why they
// did not rewrite it. Collected only while a report asks (`dlc inspect --unfused`, DLC_EXPLAIN=1),
// per thread; otherwise declining costs nothing.
#pragma once

#include <string>
#include <vector>

#include "ir/graph.h"

namespace dlc::passes {

struct Decline {
  std::string pattern;   // "attention", "layernorm", ...
  std::string op;        // the anchor op's kind
  std::string location;  // the anchor op's location (ONNX node name)
  std::string reason;
};

// Starts (sink non-null) or stops collecting declines on this thread.
void setExplainSink(std::vector<Decline>* sink);
// Records why `pattern` declined at `anchor` (a no-op while nothing collects).
void explainDecline(const Op& anchor, const char* pattern, const std::string& reason);

// The report: the ops recognition looks for that remain (Softmax, ReduceMean, Erf, Tanh, Pow,
// Sqrt, Reciprocal), each with its location, then the declines whose anchor is still in the
// graph (the last reason per pattern and anchor). Empty when nothing is left unfused.
std::string unfusedReport(const Graph& graph, const std::vector<Decline>& declines);

}  // namespace dlc::passes
