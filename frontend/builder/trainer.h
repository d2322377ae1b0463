// The C++ training API: a model (built with the builder, or imported) with its loss, optimizer and
// schedule, turned into the training-step and evaluation graphs that any target compiles and the
// runtime runs (examples/train_mlp.cc shows the whole loop).
#pragma once

#include <map>
#include <memory>
#include <string>

#include "frontend/builder/training_step.h"

namespace dlc::builder {

class Trainer {
 public:
  explicit Trainer(std::unique_ptr<Graph> forward) : forward_(std::move(forward)) {}

  Trainer& loss(const std::string& name, LossOptions options = {}) {
    config_.loss = name;
    config_.loss_options = std::move(options);
    return *this;
  }
  Trainer& optimizer(OptimizerOptions options) {
    config_.optimizer = std::move(options);
    return *this;
  }
  Trainer& schedule(ScheduleOptions options) {
    config_.schedule = std::move(options);
    return *this;
  }
  Trainer& clipNorm(double max_norm) {
    config_.clip_norm = max_norm;
    return *this;
  }
  Trainer& clipValue(double max_value) {
    config_.clip_value = max_value;
    return *this;
  }
  Trainer& accumulate(int64_t micro_batches) {
    config_.accumulate = micro_batches;
    return *this;
  }
  Trainer& freeze(std::vector<std::string> names) {
    config_.freeze = std::move(names);
    return *this;
  }
  Trainer& seed(uint64_t s) {
    config_.seed = s;
    return *this;
  }
  TrainingConfig& config() { return config_; }
  const Graph& model() const { return *forward_; }

  // The training step and the evaluation graph of (a copy of) the model.
  Expected<TrainingStep> trainingStep() const;
  Expected<EvalStep> evalStep() const;
  // A copy of the model with `values` (trained parameters and statistics, by name, as the step's
  // states hold them) written into its constants: the trained inference model.
  Expected<std::unique_ptr<Graph>> trainedModel(const std::map<std::string, Tensor>& values) const;

 private:
  std::unique_ptr<Graph> forward_;
  TrainingConfig config_;
};

// Writes `values` into the constants of the same names in `graph`; an error names a value the
// graph has no constant for.
Status writeTrainedValues(Graph& graph, const std::map<std::string, Tensor>& values);

}  // namespace dlc::builder
