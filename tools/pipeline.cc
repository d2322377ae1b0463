// Glue between the command line and the pass manager: contexts, default pipelines, -O levels.
#include "tools/pipeline.h"

#include <cstdlib>

#include "backends/reference/interpreter.h"

namespace dlc::cli {

Expected<passes::PassContext> makePassContext(const std::string& target, const std::vector<std::string>& input_shapes) {
  passes::PassContext ctx;
  ctx.target = target;
  ctx.evaluate = [](const Op& op, const std::vector<const Tensor*>& inputs) { return ref::evaluateOp(op, inputs); };
  for (const std::string& spec : input_shapes) {
    size_t eq = spec.rfind('=');
    if (eq == std::string::npos || eq == 0 || eq + 1 == spec.size())
      return Status::error(str("--input-shape expects NAME=1x3x224x224, got '", spec, "'"));
    std::vector<int64_t> dims;
    std::string text = spec.substr(eq + 1);
    size_t pos = 0;
    while (pos <= text.size()) {
      size_t x = text.find('x', pos);
      std::string item = text.substr(pos, x == std::string::npos ? std::string::npos : x - pos);
      char* end = nullptr;
      long long v = std::strtoll(item.c_str(), &end, 10);
      if (item.empty() || *end != '\0' || v < 0)
        return Status::error(str("--input-shape '", spec, "': '", item, "' is not a dimension"));
      dims.push_back(v);
      if (x == std::string::npos) break;
      pos = x + 1;
    }
    ctx.input_shapes[spec.substr(0, eq)] = dims;
  }
  return ctx;
}

Status optimize(Graph& graph, const passes::PassContext& ctx, int opt_level, const passes::PassManagerOptions& options) {
  DLC_ASSIGN_OR_RETURN(auto names, passes::defaultPipeline(ctx.target, opt_level));
  passes::PassManager pm(options);
  DLC_RETURN_IF_ERROR(pm.add(names));
  return pm.run(graph, ctx);
}

Expected<int> parseOptLevel(const std::string& text) {
  if (text.size() == 1 && text[0] >= '0' && text[0] <= '3') return text[0] - '0';
  return Status::error(str("optimization level '", text, "' is not 0, 1, 2 or 3"));
}

}  // namespace dlc::cli
