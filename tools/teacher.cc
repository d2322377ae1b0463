// The teacher's logits for distillation (teacher.h).
#include "tools/teacher.h"

#include <chrono>
#include <cstring>
#include <iostream>
#include <numeric>

#include "ir/clone.h"
#include "tools/artifact.h"
#include "tools/cli.h"
#include "tools/progress.h"

namespace dlc::cli {

Status addTeacherLogits(const std::string& path, const TrainRun& run, const Type& logits, Dataset& data) {
  auto t0 = std::chrono::steady_clock::now();
  auto failed = [&](const std::string& what) { return Status::error(str("--teacher ", path, ": ", what)); };
  if (isArtifactPath(path)) return failed("give the teacher as .onnx or .dlcir (a .dlc is compiled for one batch size)");
  DLC_ASSIGN_OR_RETURN(std::unique_ptr<Graph> teacher, loadModel(path));
  const Region& body = teacher->body();
  if (body.outputs().empty()) return failed("the model has no outputs");
  // The teacher's inputs among the data's arrays.
  std::vector<size_t> arrays;
  for (int i = 0; i < body.numArguments(); ++i) {
    const Value* arg = body.argument(i);
    size_t k = 0;
    while (k < data.names.size() && data.names[k] != arg->name()) ++k;
    if (k == data.names.size()) {
      std::string have;
      for (const auto& n : data.names) have += str(have.empty() ? "" : ", ", n);
      return failed(str("its input '", arg->name(), "' is none of the student's data arrays (", have, ")"));
    }
    if (arg->type().isTensor() && arg->type().dtype != data.arrays[k].dtype())
      return failed(str("its input '", arg->name(), "' is ", arg->type().toString(), " but the data's array is ", dtypeName(data.arrays[k].dtype())));
    arrays.push_back(k);
  }
  const int64_t batch = std::min(run.batch, data.samples);
  std::vector<int64_t> order(static_cast<size_t>(data.samples));
  std::iota(order.begin(), order.end(), 0);
  Tensor out;
  std::vector<Tensor> gathered;
  std::unique_ptr<runtime::Model> model;
  std::unique_ptr<runtime::Session> session;
  int64_t compiled_for = -1;
  ProgressBar bar(run.progress);
  for (int64_t from = 0; from < data.samples; from += batch) {
    bar.update("teacher", from, data.samples, "samples");
    const int64_t n = std::min(batch, data.samples - from);
    if (n != compiled_for) {  // the full batch, then once more for a shorter last one
      std::vector<std::string> shapes;
      for (size_t k : arrays) {
        std::string dims;
        for (int64_t d : batchShape(data, k, n)) dims += str(dims.empty() ? "" : "x", d);
        if (!dims.empty()) shapes.push_back(str(data.names[k], "=", dims));
      }
      std::unique_ptr<Graph> g = cloneGraph(*teacher);
      auto compiled = compileForInputs(*g, run.target, run.opt_level, shapes, {});
      if (!compiled.ok()) return failed(compiled.status().message());
      session.reset();
      model = std::move(*compiled);
      session = std::make_unique<runtime::Session>(*model, run.threads);
      compiled_for = n;
    }
    gatherBatch(data, order, from, n, gathered);
    std::vector<DataValue> inputs;
    for (size_t k : arrays) inputs.push_back(DataValue::ofTensor(gathered[k]));
    auto outputs = runSession(*model, *session, inputs);
    if (!outputs.ok()) return failed(outputs.status().message());
    const DataValue& y = outputs->at(0);
    if (y.is_none || y.is_sequence) return failed("its first output is not a tensor");
    const Tensor& t = y.tensor;
    bool fits = isFloat(t.dtype()) && logits.shape.ranked && t.rank() == logits.shape.rank() && t.rank() >= 1 && t.dim(0) == n;
    for (int d = 1; fits && d < t.rank(); ++d) fits = !logits.shape.dims[d].isStatic() || logits.shape.dims[d].value == t.dim(d);
    if (!fits) {
      std::vector<int64_t> s = t.shape();
      std::string dims;
      for (int64_t d : s) dims += str(dims.empty() ? "" : ",", d);
      return failed(str("its output ", dtypeName(t.dtype()), "[", dims, "] for ", n, " samples does not fit the student's ", logits.toString()));
    }
    if (!out.defined()) {
      std::vector<int64_t> shape = t.shape();
      shape[0] = data.samples;
      out = Tensor(logits.dtype, shape);
    }
    const int64_t per = t.numel() / n;
    if (t.dtype() == out.dtype()) {
      std::memcpy(static_cast<uint8_t*>(out.raw()) + from * per * static_cast<int64_t>(dtypeSize(t.dtype())), t.raw(), t.nbytes());
    } else {
      for (int64_t e = 0; e < t.numel(); ++e) out.setDouble(from * per + e, t.getDouble(e));
    }
  }
  bar.clear();
  data.names.push_back(builder::kTeacherLogits);
  data.arrays.push_back(std::move(out));
  std::cerr << "dlc: teacher " << path << ": logits of " << data.samples << " samples in " << std::fixed;
  std::cerr.precision(1);
  std::cerr << std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count() << " s\n";
  std::cerr.unsetf(std::ios::fixed);
  return Status::success();
}

}  // namespace dlc::cli
