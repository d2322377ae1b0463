// Pass sequencing, verification between passes, IR dumps and timing.
#include "passes/pass_manager.h"

#include <chrono>
#include <iomanip>
#include <iostream>
#include <sstream>

#include "ir/printer.h"
#include "ir/verifier.h"
#include "passes/pipelines.h"

namespace dlc::passes {

Status PassManager::add(const std::vector<std::string>& names) {
  for (const auto& n : names) {
    if (!findPass(n)) return Status::error(str("unknown pass '", n, "' (see `dlc opt --list-passes`)"));
    names_.push_back(n);
  }
  return Status::success();
}

Status PassManager::run(Graph& graph, const PassContext& ctx) const {
  std::ostream& log = options_.log ? *options_.log : std::cerr;
  std::vector<std::pair<std::string, double>> timings;
  for (const auto& name : names_) {
    if (options_.on_pass) options_.on_pass(name, timings.size(), names_.size());
    std::unique_ptr<Pass> pass = findPass(name)->create();
    graph.memory_plan.reset();  // a plan describes the graph it was made for
    auto start = std::chrono::steady_clock::now();
    Status s = Status::success();
    try {
      s = pass->run(graph, ctx);
    } catch (const std::bad_alloc&) {
      s = Status::error("out of memory");
    } catch (const std::exception& e) {  // a pass that throws has a bug; the caller still gets a Status
      s = Status::error(str("internal error: ", e.what()));
    }
    double ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
    timings.emplace_back(name, ms);
    if (!s.ok()) return s.withContext(str("pass '", name, "'"));
    if (options_.verify_each) {
      Status v = verifyGraph(graph);
      if (!v.ok()) return v.withContext(str("IR is invalid after pass '", name, "'"));
    }
    if (options_.print_ir_after_all || options_.print_ir_after.count(name)) {
      PrintOptions po;
      po.elide_large_constants = true;
      log << "// ----- IR after " << name << " -----\n" << printGraph(graph, po);
    }
  }
  if (options_.time_passes) {
    double total = 0;
    for (const auto& t : timings) total += t.second;
    log << "===-- pass timing (total " << std::fixed << std::setprecision(3) << total << " ms) --===\n";
    for (const auto& [name, ms] : timings)
      log << std::setw(10) << ms << " ms  " << std::setw(5) << std::setprecision(1)
          << (total > 0 ? 100.0 * ms / total : 0.0) << "%  " << name << std::setprecision(3) << "\n";
  }
  return Status::success();
}

std::vector<std::string> splitPassList(const std::string& list) {
  std::vector<std::string> out;
  std::stringstream ss(list);
  std::string item;
  while (std::getline(ss, item, ','))
    if (!item.empty()) out.push_back(item);
  return out;
}

Expected<std::vector<std::string>> defaultPipeline(const std::string& target, int opt_level) {
  if (opt_level < 0 || opt_level > 3) return Status::error(str("optimization level -O", opt_level, " is not 0..3"));
  return pipelineFor(target, opt_level);
}

}  // namespace dlc::passes
