// Loading and running .dlc artifacts from the `dlc` tool through libdlcrt's C++ wrapper.
#include "tools/artifact.h"

#include "backends/artifact_writer.h"
#include "dlc_kernels_cpu.h"
#include "dlc_kernels_onednn.h"
#include "dlc_kernels_reference.h"
#include "ir/dtype_onnx.h"
#include "tools/pipeline.h"

namespace dlc::cli {

bool isArtifactPath(const std::string& path) {
  return path.size() > 4 && path.compare(path.size() - 4, 4, ".dlc") == 0;
}

namespace {
void registerLibraries() {
  runtime::check(dlc_kernels_reference_register());
  runtime::check(dlc_kernels_onednn_register());
  runtime::check(dlc_kernels_cpu_register());
}
}  // namespace

Expected<std::unique_ptr<runtime::Model>> loadArtifact(const std::string& path) {
  try {
    registerLibraries();
    return std::make_unique<runtime::Model>(runtime::Model::loadFile(path));
  } catch (const runtime::Error& e) {
    return Status::error(e.what());
  }
}

Expected<std::unique_ptr<runtime::Model>> loadArtifactBytes(const std::string& bytes) {
  try {
    registerLibraries();
    return std::make_unique<runtime::Model>(runtime::Model::loadMemory(bytes.data(), bytes.size()));
  } catch (const runtime::Error& e) {
    return Status::error(e.what());
  }
}

Status checkTarget(const std::string& target) {
  if (backends::findBackend(target)) return Status::success();
  std::string names;
  for (const auto& n : backends::backendNames()) names += str(names.empty() ? "" : ", ", n);
  return Status::error(str("target '", target, "' is not available in this version (available: ", names, ")"));
}

Expected<std::unique_ptr<runtime::Model>> compileForInputs(Graph& graph, const std::string& target, int opt_level,
                                                           std::vector<std::string> input_shapes,
                                                           const std::vector<DataValue>& inputs) {
  const Region& body = graph.body();
  for (int i = 0; i < body.numArguments() && static_cast<size_t>(i) < inputs.size(); ++i) {
    const Value* arg = body.argument(i);
    const DataValue& v = inputs[static_cast<size_t>(i)];
    if (!arg->type().isTensor() || arg->type().shape.isStatic() || v.is_none || v.is_sequence) continue;
    bool given = false;
    for (const auto& spec : input_shapes) given |= spec.rfind(arg->name() + "=", 0) == 0;
    if (given) continue;
    std::string dims;
    for (int64_t d : v.tensor.shape()) dims += str(dims.empty() ? "" : "x", d);
    if (dims.empty()) continue;  // a scalar has no dims to fix
    input_shapes.push_back(str(arg->name(), "=", dims));
  }
  DLC_ASSIGN_OR_RETURN(auto ctx, makePassContext(target, input_shapes));
  DLC_RETURN_IF_ERROR(optimize(graph, ctx, opt_level));
  backends::ArtifactOptions options;
  options.target = target;
  DLC_ASSIGN_OR_RETURN(std::string bytes, backends::writeArtifact(graph, options));
  return loadArtifactBytes(bytes);
}

Type typeOf(const dlc_tensor_info& info) {
  Type t;
  t.kind = Type::Kind::Tensor;
  t.dtype = dtypeFromOnnxCode(info.dtype).value_or(DType::Undefined);
  t.shape.ranked = info.rank >= 0;
  for (int32_t i = 0; i < info.rank; ++i) {
    Dim d;
    if (info.dims[i] >= 0)
      d.value = info.dims[i];
    else if (info.dim_names[i][0])
      d.symbol = info.dim_names[i];
    t.shape.dims.push_back(d);
  }
  return t;
}

std::vector<size_t> callerInputs(const runtime::Model& model) {
  std::vector<char> state(model.inputCount(), 0);
  for (size_t k = 0; k < model.stateCount(); ++k) state[model.stateBinding(k).first] = 1;
  std::vector<size_t> out;
  for (size_t i = 0; i < model.inputCount(); ++i)
    if (!state[i]) out.push_back(i);
  return out;
}

std::unique_ptr<Graph> signatureGraph(const runtime::Model& model) {
  auto g = std::make_unique<Graph>();
  for (size_t i : callerInputs(model)) {
    dlc_tensor_info info = model.input(i);
    g->body().addArgument(typeOf(info), info.name);
  }
  return g;
}

Status bindInputs(const runtime::Model& model, runtime::Session& session, const std::vector<DataValue>& inputs) {
  std::vector<size_t> positions = callerInputs(model);
  try {
    for (size_t i = 0; i < inputs.size() && i < positions.size(); ++i) {
      const DataValue& v = inputs[i];
      if (v.is_none || v.is_sequence) return Status::error(str("input ", i, ": .dlc artifacts take tensors only"));
      const Tensor& t = v.tensor;
      session.bindInput(positions[i], static_cast<int32_t>(dtypeToOnnxCode(t.dtype())), t.shape(), t.raw(), t.nbytes());
    }
  } catch (const runtime::Error& e) {
    return Status::error(e.what());
  }
  return Status::success();
}

Expected<std::vector<DataValue>> runSession(const runtime::Model& model, runtime::Session& session,
                                            const std::vector<DataValue>& inputs) {
  DLC_RETURN_IF_ERROR(bindInputs(model, session, inputs));
  try {
    session.run();
    std::vector<DataValue> outputs;
    for (size_t i = 0; i < model.outputCount(); ++i) {
      dlc_tensor t = session.output(i);
      auto dtype = dtypeFromOnnxCode(t.dtype);
      if (!dtype) return Status::error(str("output ", i, " has unknown dtype code ", t.dtype));
      outputs.push_back(DataValue::ofTensor(Tensor::fromBytes(*dtype, std::vector<int64_t>(t.shape, t.shape + t.rank), t.data, t.bytes)));
    }
    return outputs;
  } catch (const runtime::Error& e) {
    return Status::error(e.what());
  }
}

}  // namespace dlc::cli
