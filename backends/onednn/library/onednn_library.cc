// The oneDNN kernel library: a step's payload is a segment of ops as textual IR; at load it is
// parsed, verified and lowered to primitives (weights repacked once); runs execute them on the
// session's workspace.
#include "backends/onednn/library/dlc_kernels_onednn.h"

#include <cstdio>
#include <cstring>
#include <exception>
#include <map>
#include <mutex>

#include <omp.h>

#include "backends/onednn/library/program.h"
#include "ir/dtype_onnx.h"
#include "ir/parser.h"
#include "ir/verifier.h"

namespace dlc::onednn {
namespace {

int fail(char* error, size_t size, const std::string& message) {
  if (size) std::snprintf(error, size, "%s", message.c_str());
  return 1;
}

// oneDNN fixes a primitive's thread partition when it is created, so a step keeps one program per
// thread count: the machine's (the sessions' default) built at load, others on first use.
struct PreparedStep {
  std::unique_ptr<Graph> graph;
  std::vector<const void*> constants;
  std::mutex mutex;
  std::map<int, std::unique_ptr<Program>> programs;

  Expected<const Program*> programFor(int threads) {
    std::lock_guard<std::mutex> lock(mutex);
    auto it = programs.find(threads);
    if (it != programs.end()) return it->second.get();
    int previous = omp_get_max_threads();
    omp_set_num_threads(threads);
    auto built = Program::build(*graph, constants);
    omp_set_num_threads(previous);
    if (!built.ok()) return built.status();
    const Program* p = built->get();
    programs[threads] = std::move(built).value();
    return p;
  }
};

Expected<std::unique_ptr<PreparedStep>> prepare(const dlc_step_info& step) {
  if (!step.kernel || std::strcmp(step.kernel, "segment") != 0)
    return Status::error(str("unknown kernel '", step.kernel ? step.kernel : "", "'"));
  std::string_view text(reinterpret_cast<const char*>(step.payload), step.payload_size);
  DLC_ASSIGN_OR_RETURN(auto graph, parseGraph(text, "step payload"));
  DLC_RETURN_IF_ERROR(verifyGraph(*graph));
  const Region& body = graph->body();
  if (body.numArguments() != step.num_inputs || body.numOutputs() != step.num_outputs)
    return Status::error(str("payload takes ", body.numArguments(), " inputs and gives ", body.numOutputs(),
                             " outputs; the step has ", step.num_inputs, " and ", step.num_outputs));
  std::vector<const void*> constants;
  for (int i = 0; i < body.numArguments(); ++i) {
    auto dtype = dtypeFromOnnxCode(step.inputs[i].dtype);
    if (!dtype || *dtype != body.argument(i)->type().dtype)
      return Status::error(str("input ", i, " is ", body.argument(i)->type().toString(), " in the payload but has dtype code ",
                               step.inputs[i].dtype, " in the step"));
    constants.push_back(step.constants ? step.constants[i].data : nullptr);
  }
  auto prepared = std::make_unique<PreparedStep>();
  prepared->graph = std::move(graph);
  prepared->constants = std::move(constants);
  DLC_RETURN_IF_ERROR(prepared->programFor(std::max(1, omp_get_num_procs())).status());
  return prepared;
}

int stepPrepare(const dlc_step_info* step, void** out_state, char* error, size_t error_size) {
  try {
    auto program = prepare(*step);
    if (!program.ok()) return fail(error, error_size, program.status().message());
    *out_state = std::move(program).value().release();
    return 0;
  } catch (const std::exception& e) {
    return fail(error, error_size, str("cannot prepare step: ", e.what()));
  }
}

int stepRun(void* state, const dlc_kernel_io* io, char* error, size_t error_size) {
  try {
    auto program = static_cast<PreparedStep*>(state)->programFor(std::max(1, io->threads));
    if (!program.ok()) return fail(error, error_size, program.status().message());
    Status s = (*program)->run(*io);
    return s.ok() ? 0 : fail(error, error_size, s.message());
  } catch (const std::exception& e) {
    return fail(error, error_size, str("oneDNN step failed: ", e.what()));
  }
}

void stepRelease(void* state) { delete static_cast<PreparedStep*>(state); }

const dlc_kernel_library kLibrary{DLC_KERNEL_ABI_VERSION, "onednn", stepPrepare, stepRun, stepRelease, DLC_LIBRARY_OWN_THREADS};

}  // namespace
}  // namespace dlc::onednn

extern "C" {
const dlc_kernel_library* dlc_kernels_onednn(void) { return &dlc::onednn::kLibrary; }
dlc_status dlc_kernels_onednn_register(void) { return dlc_kernel_library_register(&dlc::onednn::kLibrary); }
}
