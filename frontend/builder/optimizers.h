// Optimizers of the builder API: per parameter, the dlc *Update op of the named torch.optim (or
// paper) optimizer with its states, optionally wrapped in Lookahead. The update rules themselves are
// the lower-optimizers pass's (passes/optimizers), so ONNX's training ops share them.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "frontend/builder/model.h"

namespace dlc::builder {

// Unset values take the named optimizer's default (torch.optim's; timm's for LAMB and LARS;
// Ranger's from its paper code).
struct OptimizerOptions {
  std::string name = "adamw";  // sgd adam adamw rmsprop adagrad radam lamb lars ranger
  std::optional<double> lr, weight_decay, momentum, dampening, beta1, beta2, epsilon, alpha;
  bool nesterov = false, amsgrad = false, centered = false, maximize = false;
  double lr_decay = 0, initial_accumulator_value = 0, trust_coefficient = 1e-3;
  // Lookahead around the optimizer (Ranger: always, k 6, alpha 0.5).
  bool lookahead = false;
  int64_t lookahead_k = 5;
  double lookahead_alpha = 0.5;
  // Gradient centralization (Yong et al. 2020): g − mean(g) over all axes but the first, for
  // parameters of rank > 1 (Ranger: on).
  std::optional<bool> gradient_centralization;
};

const std::vector<std::string>& optimizerNames();
// Checks the name and fills every unset value with the optimizer's default.
Expected<OptimizerOptions> resolveOptimizer(OptimizerOptions o);

// Where an optimizer gets the state it keeps between steps: a new state of the training step,
// starting from `initial`; returns the value the step reads.
class StateSource {
 public:
  virtual ~StateSource() = default;
  virtual Var state(const std::string& name, Tensor initial) = 0;
};

struct ParamStep {
  Var next;                                    // x'
  std::vector<std::pair<Var, Var>> states;     // (state read this step, its next value)
};

// Gradient centralization (Yong et al. 2020): g − mean(g) over every axis but the first when g has
// rank > 1 (a convolution's or linear layer's weights), g itself otherwise.
Var centralizeGradient(Var g);

// One optimizer step of parameter x (named `name`, starting from `x_initial`) with gradient g,
// learning rate lr and 1-based step t (f32 scalars). `o` must be resolved.
ParamStep optimizerStep(const OptimizerOptions& o, Var lr, Var t, Var x, Var g, const std::string& name,
                        const Tensor& x_initial, StateSource& states);

}  // namespace dlc::builder
