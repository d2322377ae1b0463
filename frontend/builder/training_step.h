// Training steps as IR: from an inference graph, the pure function
//   (data, target, params, optimizer state, buffers, step) -> (loss, metrics, params', state', buffers', step')
// with the loss, a Gradient op (lowered by the autodiff pass), gradient clipping, centralization and
// accumulation, the learning-rate schedule and the optimizer steps; and the matching evaluation graph.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "frontend/builder/losses.h"
#include "frontend/builder/optimizers.h"
#include "frontend/builder/schedules.h"
#include "ir/graph.h"

namespace dlc::builder {

struct TrainingConfig {
  std::string loss = "cross-entropy";
  LossOptions loss_options;
  OptimizerOptions optimizer;
  ScheduleOptions schedule;
  double clip_norm = 0;   // > 0: scale all gradients so their global L2 norm is at most this (clip_grad_norm_)
  double clip_value = 0;  // > 0: clamp every gradient element to [−v, v] (clip_grad_value_)
  int64_t accumulate = 1;  // micro-batches per optimizer step (their mean gradient is applied)
  std::vector<std::string> freeze;  // parameters kept as they are
  uint64_t seed = 0;                // dropout masks: a function of the seed and the step
  bool train_batchnorm = true;      // batch statistics and running-statistics updates (torch's train())
  // "bf16": mixed precision as torch.autocast(dtype=torch.bfloat16) — the MatMul, Gemm, Conv and
  // ConvTranspose of the training step's forward read bf16 copies of their f32 operands and give
  // their results back as f32; the master weights, the optimizer, the loss and everything else
  // stay f32 ("f32", the default: no casts). The evaluation graph stays f32.
  std::string precision = "f32";
  // Knowledge distillation (Hinton et al. 2015): with a weight w > 0 the training loss is
  //   (1 − w)·task + w·T²·KL(softmax(teacher/T) ‖ softmax(student/T)),
  // the KL summed over the class axis and averaged over the other axes (batchmean for [N, C]);
  // the teacher's logits are the data input "teacher_logits", shaped like the model's output. The
  // evaluation graph keeps the task loss.
  double distill_weight = 0;
  double temperature = 4;
};

struct StateInfo {
  enum class Kind { Parameter, Optimizer, Buffer, Step };
  std::string name;
  Kind kind = Kind::Parameter;
  int input = 0, output = 0;  // graph input and output positions
  Tensor initial;
};

struct TrainingStep {
  std::unique_ptr<Graph> graph;
  std::vector<StateInfo> states;
  std::vector<std::string> data_inputs;  // graph inputs the caller feeds: the model's inputs, "target", "teacher_logits"
  std::vector<std::string> metrics;      // outputs after the loss (output 0): correct, counted (classification), lr
};

// torch.onnx.export (eval mode) merges initializers of equal value into one and names the others
// through Identity ops ("layers.0.norm1.weight" = Identity("norm.weight")): parameters that are
// separate in the PyTorch model. This gives each such Identity of a float constant its own
// constant again, so they train separately as in PyTorch. Returns how many it untied.
int untieExportedCopies(Graph& forward);

// The trainable parameters of an inference graph: its named float constants of rank >= 1 from which
// a float path reaches an output, except BatchNormalization statistics (buffers) and `freeze`. Names
// in `freeze` that are not parameters are an error.
Expected<std::vector<std::string>> trainableParameters(const Graph& forward, const std::vector<std::string>& freeze);
// The BatchNormalization running statistics (constant mean and variance operands).
std::vector<std::string> batchNormBuffers(const Graph& forward);

// Builds the training step of `forward` (consumed). Its dims may be symbolic; compile it with the
// data's shapes.
Expected<TrainingStep> buildTrainingStep(std::unique_ptr<Graph> forward, const TrainingConfig& config);

// The data input holding the teacher's logits when config.distill_weight > 0.
inline constexpr const char* kTeacherLogits = "teacher_logits";

struct EvalStep {
  std::unique_ptr<Graph> graph;          // outputs: loss, then the training step's metrics
  std::vector<std::string> data_inputs;  // as the training step's
  std::vector<std::string> state_inputs;  // parameters and buffers, named as the training step's states
};
// The evaluation graph of `forward` (consumed): inference mode (running statistics, no dropout),
// parameters and buffers as inputs.
Expected<EvalStep> buildEvalStep(std::unique_ptr<Graph> forward, const TrainingConfig& config);

struct GradientStep {
  std::unique_ptr<Graph> graph;          // outputs: loss, then the loss's gradient for each parameter
  std::vector<std::string> data_inputs;  // as the evaluation graph's
  std::vector<std::pair<std::string, Tensor>> parameters;  // graph inputs by name, with the model's values
};
// The gradients of the task loss with respect to the trainable parameters, the model in inference
// mode (running statistics, no dropout): first-order importance criteria (Taylor pruning), saliency.
Expected<GradientStep> buildGradientStep(std::unique_ptr<Graph> forward, const TrainingConfig& config);

struct StatisticsStep {
  std::unique_ptr<Graph> graph;          // outputs: per BatchNorm, its batch mean, then its unbiased variance
  std::vector<std::string> data_inputs;  // the model's inputs
  std::vector<std::string> state_inputs;  // parameters, named as the training step's states
  std::vector<std::pair<std::string, std::string>> statistics;  // per output pair: (running mean, running var)
};
// The graph that recomputes BatchNorm statistics for stochastic weight averaging (torch.optim.
// swa_utils.update_bn): the model with BatchNorm in training mode, giving each layer's batch mean
// and unbiased batch variance; averaged over the training data, they are the running statistics
// update_bn leaves. Dropout stays in inference mode.
Expected<StatisticsStep> buildBatchNormStatistics(std::unique_ptr<Graph> forward, const TrainingConfig& config);

}  // namespace dlc::builder
