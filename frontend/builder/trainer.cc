// The Trainer: copies of the model handed to the training-step builder.
#include "frontend/builder/trainer.h"

#include "ir/clone.h"

namespace dlc::builder {

Expected<TrainingStep> Trainer::trainingStep() const { return buildTrainingStep(cloneGraph(*forward_), config_); }

Expected<EvalStep> Trainer::evalStep() const { return buildEvalStep(cloneGraph(*forward_), config_); }

Expected<std::unique_ptr<Graph>> Trainer::trainedModel(const std::map<std::string, Tensor>& values) const {
  std::unique_ptr<Graph> g = cloneGraph(*forward_);
  DLC_RETURN_IF_ERROR(writeTrainedValues(*g, values));
  return g;
}

Status writeTrainedValues(Graph& graph, const std::map<std::string, Tensor>& values) {
  std::map<std::string, Op*> constants;
  for (const auto& op : graph.body().ops())
    if (op->kind() == OpKind::Constant && !op->result()->name().empty()) constants[op->result()->name()] = op.get();
  for (const auto& [name, t] : values) {
    auto it = constants.find(name);
    if (it == constants.end()) return Status::error(str("the model has no initializer named '", name, "' to write the trained value to"));
    Op* op = it->second;
    for (const std::string& attr : {"value_float", "value_floats", "value_int", "value_ints"}) op->removeAttr(attr);
    op->setAttr("value", Attribute::ofTensor(t.clone()));
  }
  return Status::success();
}

}  // namespace dlc::builder
