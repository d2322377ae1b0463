// `dlc compile --target cpu --emit=bundle`: the whole model as one compiled function in an ELF
// object, a C header to call it with, and its weights in a file: static linking into an
// application with no loader and no dlc runtime at all.
#pragma once

#include <string>

#include "backends/backend.h"

namespace dlc::llvm_cpu {

struct Bundle {
  std::string object;   // NAME.o
  std::string header;   // NAME.h
  std::string weights;  // NAME.weights
};

// `name` prefixes every symbol (a C identifier). Every op must lower: a bundle has no reference
// kernels to fall back on (the error lists the ops that do not).
Expected<Bundle> emitBundle(const Graph& graph, const backends::CompileOptions& options, const std::string& name,
                            const std::string& source);

}  // namespace dlc::llvm_cpu
