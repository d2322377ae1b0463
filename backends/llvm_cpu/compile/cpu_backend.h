// The cpu target (LLVM): segments of ops it lowers become native code in the artifact; what it
// does not lower runs through the reference kernels. Also the inspection outputs of --emit.
#pragma once

#include <string>

#include "backends/backend.h"

namespace dlc::llvm_cpu {

enum class EmitKind { LlvmIr, Assembly, Object };

// The optimized module of every segment the cpu target would compile for `graph`, as LLVM IR
// text, assembly or an ELF object; `entry_points` gets the segments' symbol prefixes.
Expected<std::string> emitSegments(const Graph& graph, const backends::CompileOptions& options, EmitKind kind,
                                   std::vector<backends::Segment>* segments = nullptr);

}  // namespace dlc::llvm_cpu
