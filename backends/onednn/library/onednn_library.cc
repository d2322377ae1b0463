// The oneDNN kernel library: a step's payload is a segment of ops as textual IR; at load it is
// parsed, verified and lowered to primitives (weights repacked once); runs execute them on the
// session's workspace.
#include "backends/onednn/library/dlc_kernels_onednn.h"

#include <cstdio>
#include <cstring>
#include <algorithm>
#include <exception>
#include <map>
#include <mutex>

#include <omp.h>

#include "backends/onednn/library/program.h"
#include "backends/specialize/segment_specialize.h"
#include "ir/dtype_onnx.h"
#include "ir/parser.h"
#include "ir/verifier.h"

namespace dlc::onednn {
namespace {

int fail(char* error, size_t size, const std::string& message) {
  if (size) std::snprintf(error, size, "%s", message.c_str());
  return 1;
}

// oneDNN fixes a primitive's thread partition and its sizes when it is created, so a step keeps
// one program per thread count and, where its segment's types are not all static, per run key
// (its input shapes and shape operands): a static segment's program for the machine's thread
// count is built at load, the others on first use. At most kMaxPrograms are kept; the least
// recently used goes first (a session still running it keeps it alive). All share the weights
// repacked for them.
struct PreparedStep {
  static constexpr size_t kMaxPrograms = DLC_ONEDNN_PROGRAMS_PER_STEP;

  std::string text;  // the payload, specialized from per run key
  std::unique_ptr<Graph> graph;
  bool is_static = true;
  std::vector<const void*> constants;
  std::vector<bool> shape_operands;
  RepackCache repacked;
  std::mutex mutex;
  struct Cached {
    std::shared_ptr<const Program> program;
    uint64_t used = 0;
  };
  std::map<std::vector<int64_t>, Cached> programs;  // key: threads, then the run key
  uint64_t clock = 0;

  std::map<int, std::shared_ptr<const Program>> static_programs;  // a static segment's: per thread count

  Expected<std::shared_ptr<const Program>> programFor(int threads, const dlc_tensor* inputs) {
    if (is_static) {  // every run: a lookup, no allocation
      std::lock_guard<std::mutex> lock(mutex);
      auto it = static_programs.find(threads);
      if (it != static_programs.end()) return it->second;
    }
    std::vector<int64_t> key{threads};
    if (!is_static) {
      std::vector<int64_t> run = backends::runKey(*graph, constants, shape_operands, inputs);
      key.insert(key.end(), run.begin(), run.end());
    }
    std::lock_guard<std::mutex> lock(mutex);
    if (is_static)  // another session may have built it meanwhile
      if (auto done = static_programs.find(threads); done != static_programs.end()) return done->second;
    auto it = programs.find(key);
    if (it != programs.end()) {
      it->second.used = ++clock;
      return it->second.program;
    }
    std::unique_ptr<Graph> specialized;
    if (!is_static) {
      DLC_ASSIGN_OR_RETURN(specialized, backends::specializeSegment(text, constants, shape_operands, inputs));
    }
    int previous = omp_get_max_threads();
    omp_set_num_threads(threads);
    auto built = Program::build(specialized ? *specialized : *graph, constants, &repacked);
    omp_set_num_threads(previous);
    if (!built.ok()) {
      if (is_static) return built.status();
      std::string shapes;
      for (int i = 0; i < specialized->body().numArguments(); ++i)
        if (!constants[static_cast<size_t>(i)]) shapes += str(shapes.empty() ? "" : ", ", specialized->body().argument(i)->type().toString());
      return built.status().withContext(str("for inputs ", shapes));
    }
    if (!is_static && programs.size() >= kMaxPrograms) {
      auto oldest = std::min_element(programs.begin(), programs.end(),
                                     [](const auto& a, const auto& b) { return a.second.used < b.second.used; });
      programs.erase(oldest);
    }
    std::shared_ptr<const Program> p = std::move(built).value();
    if (is_static)
      static_programs[threads] = p;
    else
      programs[key] = Cached{p, ++clock};
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
  prepared->is_static = backends::segmentIsStatic(*graph);
  prepared->shape_operands = backends::shapeOperands(*graph);
  prepared->text = std::string(text);
  prepared->graph = std::move(graph);
  prepared->constants = std::move(constants);
  if (prepared->is_static) DLC_RETURN_IF_ERROR(prepared->programFor(std::max(1, omp_get_num_procs()), nullptr).status());
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
    auto program = static_cast<PreparedStep*>(state)->programFor(std::max(1, io->threads), io->inputs);
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
