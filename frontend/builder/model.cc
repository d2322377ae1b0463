// Model: graph construction with sticky errors, inputs/outputs, constants and parameters.
#include "frontend/builder/model.h"

namespace dlc::builder {

Model::Model(std::string name, uint64_t seed)
    : graph_(std::make_unique<Graph>()), builder_(graph_->body()), rng_(seed) {
  graph_->name = std::move(name);
  graph_->producer = "dlc builder";
  graph_->opset_imports[""] = 17;
}

Model::Model(std::unique_ptr<Graph> graph, std::string prefix, uint64_t seed)
    : graph_(std::move(graph)), builder_(graph_->body()), rng_(seed), prefix_(std::move(prefix)) {}

Var Model::input(const std::string& name, DType dtype, std::vector<Dim> dims) {
  return Var(this, builder_.addInput(name, Type::tensor(dtype, Shape(std::move(dims)))));
}

void Model::output(Var v, const std::string& name) {
  if (!ok()) return;
  if (!v.valid()) return fail(Status::error("output of an invalid value"));
  if (!name.empty()) v.value()->setName(name);
  builder_.addOutput(v.value());
}

Var Model::constant(Tensor t, const std::string& name) {
  if (!ok()) return Var();
  return Var(this, builder_.constant(std::move(t), name));
}

Var Model::parameter(const std::string& name, std::vector<int64_t> shape, float bound) {
  if (!ok()) return Var();
  Tensor t(DType::F32, std::move(shape));
  std::uniform_real_distribution<float> dist(-bound, bound);
  float* p = t.data<float>();
  for (int64_t i = 0; i < t.numel(); ++i) p[i] = dist(rng_);
  return constant(std::move(t), name);
}

std::vector<Var> Model::op(OpKind kind, std::vector<Var> operands, std::map<std::string, Attribute> attrs,
                           int num_results) {
  if (!ok()) return {};
  std::vector<Value*> values;
  for (const Var& v : operands) {
    if (!v.valid()) {
      fail(Status::error(str(opName(kind), ": operand is invalid")));
      return {};
    }
    values.push_back(v.value());
  }
  std::string location = nextName(opName(kind));
  auto created = builder_.create(kind, values, std::move(attrs), num_results, location);
  if (!created.ok()) {
    fail(created.status());
    return {};
  }
  std::vector<Var> out;
  for (int i = 0; i < (*created)->numResults(); ++i) {
    Value* r = (*created)->result(i);
    r->setName(num_results == 1 ? location : str(location, ".", i));
    out.emplace_back(this, r);
  }
  return out;
}

std::string Model::nextName(const std::string& prefix) { return str(prefix_, prefix, "_", counter_++); }

void Model::fail(Status s) {
  if (status_.ok()) status_ = std::move(s);
}

Expected<std::unique_ptr<Graph>> Model::finish() {
  if (!status_.ok()) return status_;
  if (!graph_) return Status::error("Model::finish() called twice");
  if (graph_->body().numOutputs() == 0) return Status::error(str("model '", graph_->name, "' has no outputs"));
  return std::move(graph_);
}

}  // namespace dlc::builder
