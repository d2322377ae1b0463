// Loss functions of the builder API, as IR with torch.nn's semantics and defaults. Each returns
// the reduced loss (a scalar) or, with reduction "none", the per-sample losses.
#pragma once

#include <string>
#include <vector>

#include "frontend/builder/model.h"

namespace dlc::builder {

struct LossOptions {
  std::string reduction = "mean";    // mean | sum | none (kl-div also batchmean)
  int64_t class_axis = 1;            // cross-entropy / nll: the axis of the classes (torch: 1)
  int64_t ignore_index = -100;       // cross-entropy / nll: targets with this class count for nothing
  double label_smoothing = 0.0;      // cross-entropy
  std::vector<float> class_weights;  // cross-entropy / nll: one weight per class (empty: 1)
  double delta = 1.0;                // huber's delta, smooth-l1's beta
  double margin = 1.0;               // contrastive, triplet
  double alpha = 0.25, gamma = 2.0;  // focal (torchvision's sigmoid_focal_loss); alpha < 0: none
  double smooth = 1.0;               // dice
  bool log_target = false;           // kl-div: the target holds log-probabilities
  double pos_weight = 1.0;           // bce-with-logits: weight of the positive term
};

// The loss names `dlc train --loss` accepts, in the order of lossNames().
const std::vector<std::string>& lossNames();
// How many model outputs the loss takes (triplet 3, contrastive 2, others 1) and whether it takes
// the `target` tensor, with the dtype it must have (I64 class indices, or the prediction's).
struct LossSignature {
  int predictions = 1;
  bool target = true;
  bool class_target = false;  // cross-entropy, nll: integer class indices
};
Expected<LossSignature> lossSignature(const std::string& name);

// Builds loss `name` on the model outputs `predictions` and `target` (invalid when the loss takes
// none). Errors (shapes that do not fit the loss, a wrong target dtype) are sticky on the model.
Var loss(const std::string& name, const std::vector<Var>& predictions, Var target, const LossOptions& options);

// The individual losses.
Var mseLoss(Var pred, Var target, const LossOptions& o = {});
Var l1Loss(Var pred, Var target, const LossOptions& o = {});
Var huberLoss(Var pred, Var target, const LossOptions& o = {});
Var smoothL1Loss(Var pred, Var target, const LossOptions& o = {});
Var crossEntropyLoss(Var logits, Var target, const LossOptions& o = {});
Var nllLoss(Var log_probs, Var target, const LossOptions& o = {});
Var bceWithLogitsLoss(Var logits, Var target, const LossOptions& o = {});
Var klDivLoss(Var log_probs, Var target, const LossOptions& o = {});
Var focalLoss(Var logits, Var target, const LossOptions& o = {});
Var diceLoss(Var logits, Var target, const LossOptions& o = {});
Var contrastiveLoss(Var a, Var b, Var similar, const LossOptions& o = {});
Var tripletLoss(Var anchor, Var positive, Var negative, const LossOptions& o = {});
// "model": the model's first output is its loss (a float scalar), taken as it is.
Var modelLoss(Var loss);

// Classification metrics: the number of correct top-1 predictions (targets equal to ignore_index
// left out), as an f32 scalar; and the number of counted targets.
Var correctPredictions(Var logits, Var target, const LossOptions& o = {});
Var countedTargets(Var target, const LossOptions& o = {});
// Binary (bce/focal): predictions x > 0 that agree with targets > 0.5.
Var correctBinary(Var logits, Var target);

}  // namespace dlc::builder
