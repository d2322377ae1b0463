// The reference kernels as a runtime kernel library: each step's payload is its op as a one-op
// graph in textual IR, parsed and verified at load and run by the interpreter.
#include "backends/reference/library/dlc_kernels_reference.h"

#include <cstdio>
#include <cstring>
#include <exception>
#include <memory>

#include "backends/reference/gemm.h"
#include "backends/reference/interpreter.h"
#include "ir/dtype_onnx.h"
#include "ir/parser.h"
#include "ir/verifier.h"

namespace dlc::ref {
namespace {

struct PreparedStep {
  std::unique_ptr<Graph> graph;
  std::unique_ptr<Interpreter> interpreter;
};

int fail(char* error, size_t size, const std::string& message) {
  if (size) std::snprintf(error, size, "%s", message.c_str());
  return 1;
}

Status prepare(const dlc_step_info& step, std::unique_ptr<PreparedStep>& out) {
  std::string_view text(reinterpret_cast<const char*>(step.payload), step.payload_size);
  DLC_ASSIGN_OR_RETURN(auto graph, parseGraph(text, "step payload"));
  DLC_RETURN_IF_ERROR(verifyGraph(*graph));
  const Region& body = graph->body();
  if (body.ops().size() != 1) return Status::error(str("payload holds ", body.ops().size(), " ops, expected one"));
  const Op& op = *body.ops().front();
  if (step.kernel == nullptr || std::strcmp(op.name(), step.kernel) != 0)
    return Status::error(str("payload op ", op.name(), " does not match kernel '", step.kernel ? step.kernel : "", "'"));
  if (!unsupportedOps(*graph).empty()) return Status::error(str("no reference kernel for ", op.name()));
  if (body.numArguments() != step.num_inputs || body.numOutputs() != step.num_outputs)
    return Status::error(str("payload takes ", body.numArguments(), " inputs and gives ", body.numOutputs(),
                             " outputs; the step has ", step.num_inputs, " and ", step.num_outputs));
  auto check = [](const Type& t, const dlc_tensor_info& info, const char* what, int i) -> Status {
    auto dtype = dtypeFromOnnxCode(info.dtype);
    if (!t.isTensor() || !dtype || *dtype != t.dtype)
      return Status::error(str(what, " ", i, " is ", t.toString(), " in the payload but has dtype code ", info.dtype, " in the step"));
    return Status::success();
  };
  for (int i = 0; i < body.numArguments(); ++i) DLC_RETURN_IF_ERROR(check(body.argument(i)->type(), step.inputs[i], "input", i));
  for (int i = 0; i < body.numOutputs(); ++i) DLC_RETURN_IF_ERROR(check(body.output(i)->type(), step.outputs[i], "output", i));
  out = std::make_unique<PreparedStep>();
  out->interpreter = std::make_unique<Interpreter>(*graph);
  out->graph = std::move(graph);
  return Status::success();
}

int stepPrepare(const dlc_step_info* step, void** out_state, char* error, size_t error_size) {
  try {
    std::unique_ptr<PreparedStep> prepared;
    Status s = prepare(*step, prepared);
    if (!s.ok()) return fail(error, error_size, s.message());
    *out_state = prepared.release();
    return 0;
  } catch (const std::exception& e) {
    return fail(error, error_size, str("cannot prepare step: ", e.what()));
  }
}

Status run(const PreparedStep& step, const dlc_kernel_io& io) {
  std::vector<RtValue> inputs;
  inputs.reserve(static_cast<size_t>(io.num_inputs));
  for (int i = 0; i < io.num_inputs; ++i) {
    const dlc_tensor& t = io.inputs[i];
    auto dtype = dtypeFromOnnxCode(t.dtype);
    if (!dtype || (!t.data && t.bytes)) return Status::error(str("input ", i, " is absent or has dtype code ", t.dtype));
    // Kernels only read their inputs, so the runtime's buffer is used in place.
    inputs.push_back(RtValue::ofTensor(Tensor::wrap(*dtype, std::vector<int64_t>(t.shape, t.shape + t.rank), t.data, nullptr)));
  }
  Parallelism parallelism{io.parallel_for, io.runtime, io.threads};
  ScopedParallelism scope(&parallelism);
  DLC_ASSIGN_OR_RETURN(auto outputs, step.interpreter->run(inputs));
  for (size_t i = 0; i < outputs.size(); ++i) {
    const RtValue& v = outputs[i];
    if (v.is_sequence || v.is_none) return Status::error(str("output ", i, " is not a tensor"));
    const Tensor& t = v.tensor;
    void* dst = io.output_allocate(io.runtime, static_cast<int32_t>(i), static_cast<int32_t>(dtypeToOnnxCode(t.dtype())),
                                   t.rank(), t.shape().data());
    if (!dst) return Status::error("the runtime refused the output");  // the runtime has the reason
    // memmove: a planned in-place result may share its buffer with the input it came from.
    if (t.nbytes()) std::memmove(dst, t.raw(), t.nbytes());
  }
  return Status::success();
}

int stepRun(void* state, const dlc_kernel_io* io, char* error, size_t error_size) {
  try {
    Status s = run(*static_cast<const PreparedStep*>(state), *io);
    return s.ok() ? 0 : fail(error, error_size, s.message());
  } catch (const std::exception& e) {
    return fail(error, error_size, str("kernel failed: ", e.what()));
  }
}

void stepRelease(void* state) { delete static_cast<PreparedStep*>(state); }

const dlc_kernel_library kLibrary{DLC_KERNEL_ABI_VERSION, "reference", stepPrepare, stepRun, stepRelease, 0};

}  // namespace
}  // namespace dlc::ref

extern "C" {
const dlc_kernel_library* dlc_kernels_reference(void) { return &dlc::ref::kLibrary; }
dlc_status dlc_kernels_reference_register(void) { return dlc_kernel_library_register(&dlc::ref::kLibrary); }
}
