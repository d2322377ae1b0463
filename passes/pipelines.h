// The default pass pipelines per target and optimization level: the one place they are listed.
#pragma once

#include <string>
#include <vector>

#include "ir/status.h"

namespace dlc::passes {

Expected<std::vector<std::string>> pipelineFor(const std::string& target, int opt_level);

}  // namespace dlc::passes
