// `.dlc` artifacts in the `dlc` tool: loading them through the runtime, their signature as IR
// types (for input matching and reading), and running a session on DataValues.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "dlc/runtime.hpp"
#include "ir/data_value.h"
#include "ir/graph.h"
#include "ir/status.h"

namespace dlc::cli {

// True for a path ending in ".dlc".
bool isArtifactPath(const std::string& path);

// Registers the kernel libraries linked into the tool, then loads and verifies `path`.
Expected<std::unique_ptr<runtime::Model>> loadArtifact(const std::string& path);

// Registers the kernel libraries linked into the tool, then loads and verifies artifact bytes.
Expected<std::unique_ptr<runtime::Model>> loadArtifactBytes(const std::string& bytes);

// The signature inputs the caller binds: all but training state, which the session feeds itself.
std::vector<size_t> callerInputs(const runtime::Model& model);

// A graph with one argument per artifact input the caller binds (name and type) and nothing else,
// so the IR-based helpers (matchInputFiles, readInput, randomInput) serve artifacts too.
std::unique_ptr<Graph> signatureGraph(const runtime::Model& model);
Type typeOf(const dlc_tensor_info& info);

// Binds `inputs` (tensors only) to the session's caller inputs in order.
Status bindInputs(const runtime::Model& model, runtime::Session& session, const std::vector<DataValue>& inputs);

// Binds `inputs`, runs the session of `model` and copies the outputs out.
Expected<std::vector<DataValue>> runSession(const runtime::Model& model, runtime::Session& session,
                                            const std::vector<DataValue>& inputs);

// An error naming the available targets unless `target` is one.
Status checkTarget(const std::string& target);

// Optimizes `graph` for `target` with its symbolic input dims fixed by `inputs`' shapes (and the
// --input-shape specs), writes the artifact in memory and loads it.
Expected<std::unique_ptr<runtime::Model>> compileForInputs(Graph& graph, const std::string& target, int opt_level,
                                                           std::vector<std::string> input_shapes,
                                                           const std::vector<DataValue>& inputs);

// `dlc inspect` for an artifact (text or json); returns the exit status.
int inspectArtifact(const std::string& path, const std::string& format);

}  // namespace dlc::cli
