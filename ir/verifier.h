// The IR verifier: structural SSA checks, op signatures against the op table, and result types
// against shape inference. Errors name the op, its location (ONNX node) and what is wrong.
#pragma once

#include "ir/graph.h"
#include "ir/status.h"

namespace dlc {

Status verifyGraph(const Graph& graph);

}  // namespace dlc
