// The textual IR parser; errors name the source, line and column.
#pragma once

#include <memory>
#include <string>
#include <string_view>

#include "ir/graph.h"
#include "ir/status.h"

namespace dlc {

Expected<std::unique_ptr<Graph>> parseGraph(std::string_view text, const std::string& source_name = "<input>");

}  // namespace dlc
