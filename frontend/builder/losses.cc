// Loss functions as IR, each the formula of the torch.nn loss of the same name (written at each).
#include "frontend/builder/losses.h"

#include <algorithm>

namespace dlc::builder {
namespace {

Model* modelOf(std::initializer_list<Var> vs) {
  for (const Var& v : vs)
    if (v.model()) return v.model();
  return nullptr;
}

bool fail(Model* m, const std::string& message) {
  if (m) m->fail(Status::error(message));
  return false;
}

// The loss's reduction of per-element values.
Var reduce(Var per_element, const LossOptions& o, const char* loss) {
  if (o.reduction == "none") return per_element;
  if (o.reduction == "sum") return reduceSum(per_element);
  if (o.reduction == "mean") return reduceMean(per_element);
  fail(per_element.model(), str(loss, ": reduction '", o.reduction, "' is not mean, sum or none"));
  return Var();
}

// Prediction and target of the elementwise losses must have one shape and one float dtype.
bool sameShape(Var pred, Var target, const char* loss) {
  Model* m = modelOf({pred, target});
  if (!pred.valid() || !target.valid()) return false;
  const Type &p = pred.type(), &t = target.type();
  if (!isFloat(p.dtype)) return fail(m, str(loss, ": the prediction must be a float tensor, got ", p.toString()));
  if (t.dtype != p.dtype) return fail(m, str(loss, ": the target must be ", dtypeName(p.dtype), " like the prediction, got ", t.toString()));
  if (p.shape.ranked && t.shape.ranked && p.shape.rank() != t.shape.rank())
    return fail(m, str(loss, ": the target ", t.toString(), " does not have the prediction's shape ", p.toString()));
  if (p.shape.ranked && t.shape.ranked)
    for (int i = 0; i < p.shape.rank(); ++i) {
      const Dim &a = p.shape.dims[static_cast<size_t>(i)], &b = t.shape.dims[static_cast<size_t>(i)];
      if (a.isStatic() && b.isStatic() && a.value != b.value)
        return fail(m, str(loss, ": the target ", t.toString(), " does not have the prediction's shape ", p.toString()));
    }
  return true;
}

// Logits with the class axis moved to 1 (where ONNX's NegativeLogLikelihoodLoss wants it), and
// the class count; false (error recorded) when the target does not fit.
bool classLayout(Var& logits, Var target, const LossOptions& o, const char* loss, int64_t* classes) {
  Model* m = modelOf({logits, target});
  if (!logits.valid() || !target.valid()) return false;
  const Type &x = logits.type(), &t = target.type();
  if (!isFloat(x.dtype) || !x.shape.ranked || x.shape.rank() < 2)
    return fail(m, str(loss, ": the model output must be float scores [N, C, ...], got ", x.toString()));
  if (t.dtype != DType::I64 && t.dtype != DType::I32)
    return fail(m, str(loss, ": the target must hold integer class indices (int64), got ", t.toString()));
  int r = x.shape.rank();
  int64_t axis = o.class_axis < 0 ? o.class_axis + r : o.class_axis;
  if (axis < 1 || axis >= r) return fail(m, str(loss, ": class axis ", o.class_axis, " is not a non-batch axis of ", x.toString()));
  if (!t.shape.ranked || t.shape.rank() != r - 1)
    return fail(m, str(loss, ": the target ", t.toString(), " must have the scores' shape ", x.toString(), " without the class axis"));
  const Dim& c = x.shape.dims[static_cast<size_t>(axis)];
  *classes = c.isStatic() ? c.value : -1;
  if (axis != 1) {
    std::vector<int64_t> perm{0, axis};
    for (int i = 1; i < r; ++i)
      if (i != axis) perm.push_back(i);
    logits = transpose(logits, perm);
  }
  return true;
}

Var classWeights(Model* m, const LossOptions& o, int64_t classes, DType dt, const char* loss) {
  if (o.class_weights.empty()) return Var();
  if (classes >= 0 && static_cast<int64_t>(o.class_weights.size()) != classes) {
    fail(m, str(loss, ": ", o.class_weights.size(), " class weights for ", classes, " classes"));
    return Var();
  }
  Tensor w = Tensor::fromVector(DType::F32, {static_cast<int64_t>(o.class_weights.size())}, o.class_weights);
  return m->constant(dt == DType::F32 ? w : w.castTo(dt));
}

// ONNX's NLL over scores with the classes on axis 1 (what torch's nll_loss computes).
Var nll(Var log_probs, Var target, Var weights, const LossOptions& o) {
  Model* m = log_probs.model();
  std::vector<Var> operands{log_probs, cast(target, DType::I64)};
  if (weights.valid()) operands.push_back(weights);
  return m->op1(OpKind::NegativeLogLikelihoodLoss, operands,
                {{"reduction", Attribute::ofString(o.reduction)}, {"ignore_index", Attribute::ofInt(o.ignore_index)}});
}

}  // namespace

const std::vector<std::string>& lossNames() {
  static const std::vector<std::string> names{"cross-entropy", "nll", "mse", "l1", "huber", "smooth-l1", "bce-with-logits",
                                              "kl-div", "focal", "dice", "contrastive", "triplet", "model"};
  return names;
}

Expected<LossSignature> lossSignature(const std::string& name) {
  if (name == "cross-entropy" || name == "nll") return LossSignature{1, true, true};
  if (name == "contrastive") return LossSignature{2, true, false};
  if (name == "triplet") return LossSignature{3, false, false};
  if (name == "model") return LossSignature{1, false, false};
  for (const auto& n : lossNames())
    if (n == name) return LossSignature{1, true, false};
  std::string all;
  for (const auto& n : lossNames()) all += (all.empty() ? "" : ", ") + n;
  return Status::error(str("unknown loss '", name, "' (one of ", all, ")"));
}

Var loss(const std::string& name, const std::vector<Var>& p, Var target, const LossOptions& o) {
  Model* m = p.empty() ? target.model() : p[0].model();
  auto sig = lossSignature(name);
  if (!sig.ok()) {
    if (m) m->fail(sig.status());
    return Var();
  }
  if (static_cast<int>(p.size()) < sig->predictions) {
    fail(m, str("loss '", name, "' takes ", sig->predictions, " model outputs, the model has ", p.size()));
    return Var();
  }
  if (name == "cross-entropy") return crossEntropyLoss(p[0], target, o);
  if (name == "nll") return nllLoss(p[0], target, o);
  if (name == "mse") return mseLoss(p[0], target, o);
  if (name == "l1") return l1Loss(p[0], target, o);
  if (name == "huber") return huberLoss(p[0], target, o);
  if (name == "smooth-l1") return smoothL1Loss(p[0], target, o);
  if (name == "bce-with-logits") return bceWithLogitsLoss(p[0], target, o);
  if (name == "kl-div") return klDivLoss(p[0], target, o);
  if (name == "focal") return focalLoss(p[0], target, o);
  if (name == "dice") return diceLoss(p[0], target, o);
  if (name == "contrastive") return contrastiveLoss(p[0], p[1], target, o);
  if (name == "model") return modelLoss(p[0]);
  return tripletLoss(p[0], p[1], p[2], o);
}

// The model's own loss: its first output, a float scalar it computed itself (a VAE's reconstruction
// plus KL term, a GAN's adversarial loss, a mixture of experts' task plus load-balancing loss).
Var modelLoss(Var loss) {
  if (!loss.valid()) return Var();
  const Type& t = loss.type();
  if (!t.isTensor() || !isFloat(t.dtype) || !t.shape.ranked || t.shape.rank() != 0) {
    loss.model()->fail(Status::error(str("loss 'model' takes the model's first output as the loss, which must be a float scalar; it is ",
                                         t.toString())));
    return Var();
  }
  return loss;
}

// MSELoss: mean((x − t)²)
Var mseLoss(Var pred, Var target, const LossOptions& o) {
  if (!sameShape(pred, target, "mse")) return Var();
  Var d = sub(pred, target);
  return reduce(mul(d, d), o, "mse");
}

// L1Loss: mean(|x − t|)
Var l1Loss(Var pred, Var target, const LossOptions& o) {
  if (!sameShape(pred, target, "l1")) return Var();
  return reduce(abs(sub(pred, target)), o, "l1");
}

// HuberLoss(δ): ½d² where |d| < δ, δ(|d| − ½δ) elsewhere; written ½q² + δ(|d| − q) with q = min(|d|, δ).
Var huberLoss(Var pred, Var target, const LossOptions& o) {
  if (!sameShape(pred, target, "huber")) return Var();
  Var a = abs(sub(pred, target));
  Var q = minimum(a, scalarLike(a, o.delta));
  return reduce(add(mul(mul(q, q), 0.5), mul(sub(a, q), o.delta)), o, "huber");
}

// SmoothL1Loss(β): ½d²/β where |d| < β, |d| − ½β elsewhere (Huber with δ = β, divided by β); β = 0 is L1.
Var smoothL1Loss(Var pred, Var target, const LossOptions& o) {
  if (!sameShape(pred, target, "smooth-l1")) return Var();
  if (o.delta <= 0) return l1Loss(pred, target, o);
  Var a = abs(sub(pred, target));
  Var q = minimum(a, scalarLike(a, o.delta));
  return reduce(add(mul(mul(q, q), 0.5 / o.delta), sub(a, q)), o, "smooth-l1");
}

// CrossEntropyLoss with class indices (torch 1.13): logp = log_softmax(x), and with label smoothing ε
//   (1 − ε)·nll(logp, t, w) + (ε/C)·s,  s_i = −Σ_c w_c·logp_ic (0 for ignored targets), s reduced like
//   nll: summed, or divided by Σ w[t_i] (mean; the count of counted targets without weights).
Var crossEntropyLoss(Var logits, Var target, const LossOptions& o) {
  int64_t classes = -1;
  if (!classLayout(logits, target, o, "cross-entropy", &classes)) return Var();
  Model* m = logits.model();
  if (o.label_smoothing < 0 || o.label_smoothing > 1) {
    fail(m, str("cross-entropy: label smoothing ", o.label_smoothing, " is not in [0, 1]"));
    return Var();
  }
  Var w = classWeights(m, o, classes, logits.type().dtype, "cross-entropy");
  Var logp = logSoftmax(logits, 1);
  Var nl = nll(logp, target, w, o);
  if (o.label_smoothing == 0) return nl;
  if (classes < 0) {
    fail(m, "cross-entropy: label smoothing needs a static class count");
    return Var();
  }
  int r = logits.type().shape.rank();
  Var weighted = logp;
  if (w.valid()) {
    std::vector<int64_t> wshape(static_cast<size_t>(r), 1);
    wshape[1] = classes;
    weighted = mul(logp, reshape(w, wshape));
  }
  Var t64 = cast(target, DType::I64);
  Var ignored = equal(t64, scalarOf(*m, DType::I64, static_cast<double>(o.ignore_index)));
  Var s = where(ignored, scalarLike(logp, 0.0), neg(reduceSum(weighted, {1}, false)));
  Var smooth = s;
  if (o.reduction == "sum") {
    smooth = reduceSum(s);
  } else if (o.reduction == "mean") {
    Var counted = cast(logicalNot(ignored), logp.type().dtype);
    if (w.valid()) {
      Var safe = where(ignored, scalarOf(*m, DType::I64, 0), t64);
      counted = mul(counted, m->op1(OpKind::Gather, {w, safe}));
    }
    smooth = div(reduceSum(s), reduceSum(counted));
  }
  return add(mul(nl, 1.0 - o.label_smoothing), mul(smooth, o.label_smoothing / static_cast<double>(classes)));
}

// NLLLoss: −w[t_i]·x[i, t_i], averaged over Σ w[t_i] (ignored targets count for nothing).
Var nllLoss(Var log_probs, Var target, const LossOptions& o) {
  int64_t classes = -1;
  if (!classLayout(log_probs, target, o, "nll", &classes)) return Var();
  return nll(log_probs, target, classWeights(log_probs.model(), o, classes, log_probs.type().dtype, "nll"), o);
}

// BCEWithLogitsLoss (pos_weight p): (1 − t)·x + (1 + (p − 1)·t)·(ln(1 + e^{−|x|}) + max(−x, 0)).
Var bceWithLogitsLoss(Var logits, Var target, const LossOptions& o) {
  if (!sameShape(logits, target, "bce-with-logits")) return Var();
  Var one_minus_t = sub(scalarLike(target, 1.0), target);
  Var soft = add(softplus(neg(abs(logits))), logits.model()->op1(OpKind::Relu, {neg(logits)}));
  Var weight = o.pos_weight == 1.0 ? Var() : add(mul(target, o.pos_weight - 1.0), 1.0);
  Var l = add(mul(one_minus_t, logits), weight.valid() ? mul(weight, soft) : soft);
  return reduce(l, o, "bce-with-logits");
}

// KLDivLoss: input holds log-probabilities; pointwise t·(ln t − x) (0 where t = 0), or with a
// log-probability target eᵗ·(t − x); reductions mean, sum, batchmean (sum / batch) or none.
Var klDivLoss(Var log_probs, Var target, const LossOptions& o) {
  if (!sameShape(log_probs, target, "kl-div")) return Var();
  Var zero = scalarLike(target, 0.0);
  Var l = o.log_target ? mul(exp(target), sub(target, log_probs))
                       : sub(where(greater(target, zero), mul(target, log(target)), zero), mul(target, log_probs));
  if (o.reduction == "batchmean") {
    const Dim& n = log_probs.type().shape.ranked && log_probs.type().shape.rank() > 0 ? log_probs.type().shape.dims[0] : Dim::unknown();
    if (!n.isStatic()) {
      fail(log_probs.model(), "kl-div: batchmean needs a static batch size");
      return Var();
    }
    return mul(reduceSum(l), 1.0 / static_cast<double>(n.value));
  }
  return reduce(l, o, "kl-div");
}

// torchvision's sigmoid_focal_loss: p = σ(x), ce = bce_with_logits(x, t), p_t = p·t + (1 − p)(1 − t),
// loss = ce·(1 − p_t)^γ, times α·t + (1 − α)(1 − t) when α ≥ 0.
Var focalLoss(Var logits, Var target, const LossOptions& o) {
  if (!sameShape(logits, target, "focal")) return Var();
  LossOptions none = o;
  none.reduction = "none";
  none.pos_weight = 1.0;
  Var ce = bceWithLogitsLoss(logits, target, none);
  Var p = sigmoid(logits);
  Var one = scalarLike(target, 1.0);
  Var pt = add(mul(p, target), mul(sub(one, p), sub(one, target)));
  Var l = mul(ce, pow(sub(one, pt), o.gamma));
  if (o.alpha >= 0) l = mul(l, add(mul(target, o.alpha), mul(sub(one, target), 1.0 - o.alpha)));
  return reduce(l, o, "focal");
}

// Dice loss on σ(x) over all elements: 1 − (2Σ p·t + s) / (Σ p + Σ t + s), s the smoothing term.
Var diceLoss(Var logits, Var target, const LossOptions& o) {
  if (!sameShape(logits, target, "dice")) return Var();
  Var p = sigmoid(logits);
  Var num = add(mul(reduceSum(mul(p, target)), 2.0), o.smooth);
  Var den = add(add(reduceSum(p), reduceSum(target)), o.smooth);
  return sub(scalarLike(logits, 1.0), div(num, den));
}

namespace {
// torch's pairwise_distance: ‖a − b + ε‖₂ over the last axis, ε = 1e-6.
Var pairwiseDistance(Var a, Var b) {
  Var d = add(sub(a, b), 1e-6);
  return sqrt(reduceSum(mul(d, d), {-1}, false));
}
}  // namespace

// Contrastive loss (Hadsell et al. 2006) with y = 1 for similar pairs: ½[y·d² + (1 − y)·max(0, m − d)²],
// d the pairwise distance of a and b.
Var contrastiveLoss(Var a, Var b, Var similar, const LossOptions& o) {
  if (!sameShape(a, b, "contrastive")) return Var();
  Var d = pairwiseDistance(a, b);
  Var y = similar.valid() && similar.type().dtype != d.type().dtype ? cast(similar, d.type().dtype) : similar;
  if (!y.valid()) return Var();
  Var gap = a.model()->op1(OpKind::Relu, {sub(scalarLike(d, o.margin), d)});
  Var l = mul(add(mul(y, mul(d, d)), mul(sub(scalarLike(d, 1.0), y), mul(gap, gap))), 0.5);
  return reduce(l, o, "contrastive");
}

// TripletMarginLoss: max(d(a, p) − d(a, n) + margin, 0) with torch's pairwise distance.
Var tripletLoss(Var anchor, Var positive, Var negative, const LossOptions& o) {
  if (!sameShape(anchor, positive, "triplet") || !sameShape(anchor, negative, "triplet")) return Var();
  Var l = anchor.model()->op1(OpKind::Relu, {add(sub(pairwiseDistance(anchor, positive), pairwiseDistance(anchor, negative)), o.margin)});
  return reduce(l, o, "triplet");
}

Var correctPredictions(Var logits, Var target, const LossOptions& o) {
  int64_t classes = -1;
  if (!classLayout(logits, target, o, "accuracy", &classes)) return Var();
  Model* m = logits.model();
  Var t64 = cast(target, DType::I64);
  Var hit = equal(argmax(logits, 1, false), t64);
  Var counted = logicalNot(equal(t64, scalarOf(*m, DType::I64, static_cast<double>(o.ignore_index))));
  Var both = m->op1(OpKind::And, {hit, counted});
  return reduceSum(cast(both, DType::F32));
}

Var countedTargets(Var target, const LossOptions& o) {
  Model* m = target.model();
  if (!m) return Var();
  Var t64 = cast(target, DType::I64);
  return reduceSum(cast(logicalNot(equal(t64, scalarOf(*m, DType::I64, static_cast<double>(o.ignore_index)))), DType::F32));
}

Var correctBinary(Var logits, Var target) {
  Var pos = greater(logits, scalarLike(logits, 0.0));
  Var truth = greater(target, scalarLike(target, 0.5));
  return reduceSum(cast(equal(pos, truth), DType::F32));
}

}  // namespace dlc::builder
