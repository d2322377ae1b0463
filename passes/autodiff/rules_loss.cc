// Gradient rules of ONNX's loss ops. SoftmaxCrossEntropyLoss is LogSoftmax followed by
// NegativeLogLikelihoodLoss, which is how it is differentiated.
#include "passes/autodiff/rules.h"

namespace dlc::autodiff {

// loss_i = −w[t_i]·x[i, t_i] (0 where t_i = ignore_index), summed, averaged over Σ w[t_i] (mean) or
// kept per element (none). dx[i, c] = −[c = t_i]·w[t_i]·s_i with s = dy, dy, or dy/Σ w[t_i].
void gradNllLoss(GradContext& c) {
  Op& op = c.node();
  Value *x = c.x(0), *t = c.x(1), *w = op.operand(2);
  int rank = c.rankOf(x);
  if (rank < 2) return;
  int64_t classes = c.staticDim(x, 1, "the gradient of NegativeLogLikelihoodLoss (its class count)");
  if (!c.ok()) return;
  std::vector<int64_t> class_shape(static_cast<size_t>(rank), 1);
  class_shape[1] = classes;
  Value* ids = c.reshape(c.op(OpKind::Range, {c.int64(0), c.int64(classes), c.int64(1)}), class_shape);
  Value* t64 = c.cast(t, DType::I64);
  Value* valid = nullptr;
  if (op.hasAttr("ignore_index")) valid = c.op(OpKind::Not, {c.op(OpKind::Equal, {t64, c.int64(op.getInt("ignore_index"))})});
  Value* safe_t = valid ? c.where(valid, t64, c.int64(0)) : t64;
  Value* wt = w ? c.op(OpKind::Gather, {w, safe_t}) : c.onesLike(c.castLike(t64, x));
  if (valid) wt = c.mul(wt, c.castLike(valid, x));
  Value* dy = c.dy();
  std::string reduction = op.getString("reduction", "mean");
  Value* scale = c.mul(wt, dy);  // sum: dy is a scalar; none: dy has t's shape
  if (reduction == "mean") {
    std::vector<int64_t> all;
    for (int i = 0; i < rank - 1; ++i) all.push_back(i);
    scale = c.mul(wt, c.div(dy, c.reduceSum(wt, all, false)));
  }
  Value* hit = c.castLike(c.op(OpKind::Equal, {c.unsqueeze(t64, {1}), ids}), x);
  c.dx[0] = c.neg(c.mul(hit, c.unsqueeze(scale, {1})));
  if (c.needs(2)) c.fail("NegativeLogLikelihoodLoss's weights get no gradient");
}

// SoftmaxCrossEntropyLoss(scores, labels, w) = NLL(LogSoftmax(scores, axis 1), labels, w) with the
// same reduction and ignore_index; its optional second result is that log-probability.
Expected<bool> decomposeSoftmaxCrossEntropy(Op& op) {
  Emitter e(*op.parent(), &op, op.location());
  Value* logp = e.op(OpKind::LogSoftmax, {op.operand(0)}, {{"axis", Attribute::ofInt(1)}});
  std::map<std::string, Attribute> attrs{{"reduction", Attribute::ofString(op.getString("reduction", "mean"))}};
  if (op.hasAttr("ignore_index")) attrs["ignore_index"] = Attribute::ofInt(op.getInt("ignore_index"));
  Value* loss = e.opOptional(OpKind::NegativeLogLikelihoodLoss, {logp, op.operand(1), op.operand(2)}, attrs);
  if (!e.ok()) return e.status();
  loss->setName(op.result(0)->name());
  op.result(0)->replaceAllUsesWith(loss);
  if (op.numResults() > 1) {
    logp->setName(op.result(1)->name());
    op.result(1)->replaceAllUsesWith(logp);
  }
  op.erase();
  return true;
}

}  // namespace dlc::autodiff
