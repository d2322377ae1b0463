// Value names not yet used in a graph, for rewrites that add values and want readable, unique names.
#pragma once

#include <set>
#include <string>

#include "ir/graph.h"

namespace dlc::passes {

class NameSet {
 public:
  explicit NameSet(const Graph& g) {
    for (int i = 0; i < g.body().numArguments(); ++i) used_.insert(g.body().argument(i)->name());
    walkOps(g.body(), [&](const Op* op) {
      for (int i = 0; i < op->numResults(); ++i) used_.insert(op->result(i)->name());
    });
  }
  // `base`, or `base_2`, `base_3`... the first not taken; taken from then on.
  std::string unique(const std::string& base) {
    std::string n = base;
    for (int k = 2; used_.count(n); ++k) n = str(base, "_", k);
    used_.insert(n);
    return n;
  }

 private:
  std::set<std::string> used_;
};

}  // namespace dlc::passes
