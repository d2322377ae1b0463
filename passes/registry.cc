// Builds the pass registry from passes/passes.def.
#include "passes/pass.h"

namespace dlc::passes {

#define DLC_PASS(Name, Factory, Summary) std::unique_ptr<Pass> Factory();
#include "passes/passes.def"
#undef DLC_PASS

const std::vector<PassInfo>& registeredPasses() {
  static const std::vector<PassInfo> passes = {
#define DLC_PASS(Name, Factory, Summary) {Name, Summary, &Factory},
#include "passes/passes.def"
#undef DLC_PASS
  };
  return passes;
}

const PassInfo* findPass(const std::string& name) {
  for (const auto& p : registeredPasses())
    if (name == p.name) return &p;
  return nullptr;
}

}  // namespace dlc::passes
