// The training step and evaluation graphs built from an inference graph.
#include "frontend/builder/training_step.h"

#include <algorithm>
#include <set>
#include <unordered_set>

#include "ir/constant_value.h"

namespace dlc::builder {
namespace {

bool isFloatTensor(const Value* v) { return v && v->type().isTensor() && isFloat(v->type().dtype); }

// The values of `body` from which a path of float values reaches a graph output.
std::unordered_set<const Value*> reachingOutputs(const Region& body) {
  std::unordered_set<const Value*> marked;
  for (const Value* v : body.outputs())
    if (isFloatTensor(v)) marked.insert(v);
  std::vector<const Op*> ops;
  for (const auto& op : body.ops()) ops.push_back(op.get());
  for (auto it = ops.rbegin(); it != ops.rend(); ++it) {
    const Op* op = *it;
    bool live = false;
    for (int i = 0; i < op->numResults(); ++i) live = live || marked.count(op->result(i));
    if (!live) continue;
    for (const Value* v : op->operands())
      if (isFloatTensor(v)) marked.insert(v);
    for (Region* r : op->regions())
      walkOps(*r, [&](const Op* inner) {
        for (const Value* v : inner->operands())
          if (isFloatTensor(v)) marked.insert(v);
      });
  }
  return marked;
}

bool isBatchNormStatistic(const Value* v) {
  if (v->uses().empty()) return false;
  for (const Use& u : v->uses())
    if (!u.user || u.user->kind() != OpKind::BatchNormalization || (u.index != 3 && u.index != 4)) return false;
  return true;
}

Op* constantNamed(Region& body, const std::string& name) {
  for (const auto& op : body.ops())
    if (op->kind() == OpKind::Constant && op->result()->name() == name) return op.get();
  return nullptr;
}

// Replaces the constant named `name` with a new graph input of its type; returns the input and its
// value.
Expected<std::pair<Value*, Tensor>> promoteToInput(Region& body, const std::string& name) {
  Op* op = constantNamed(body, name);
  if (!op) return Status::error(str("no constant named '", name, "'"));
  DLC_ASSIGN_OR_RETURN(Tensor value, constantOpValue(*op));
  Value* arg = body.addArgument(op->result()->type(), name);
  op->result()->replaceAllUsesWith(arg);
  op->erase();
  return std::make_pair(arg, value);
}

Value* findArgument(const Region& body, const std::string& name) {
  for (int i = 0; i < body.numArguments(); ++i)
    if (body.argument(i)->name() == name) return body.argument(i);
  return nullptr;
}

int argumentIndex(const Region& body, const Value* v) {
  for (int i = 0; i < body.numArguments(); ++i)
    if (body.argument(i) == v) return i;
  return -1;
}

// Inference BatchNormalization -> torch's training mode: BatchNormTraining normalizes with the batch
// statistics (mean, population variance over every axis but 1), and the running statistics are
// updated with torch's momentum μ = 1 − ONNX momentum and the unbiased variance:
//   rm' = (1 − μ)·rm + μ·mean,  rv' = (1 − μ)·rv + μ·var·n/(n − 1),  n = elements per channel.
// Returns the next running mean and variance, and the batch's mean and unbiased variance.
struct BatchNormStatistics {
  Value *running_mean, *running_var, *mean, *unbiased_var;
};
Expected<BatchNormStatistics> trainingBatchNorm(Model& m, Op& bn) {
  Var x(&m, bn.operand(0)), gamma(&m, bn.operand(1)), beta(&m, bn.operand(2)), rm(&m, bn.operand(3)), rv(&m, bn.operand(4));
  const Shape& shape = x.type().shape;
  if (!shape.ranked || shape.rank() < 2) return Status::error(str("BatchNormalization '", bn.location(), "': X must have rank >= 2"));
  int64_t n = 1;
  std::vector<int64_t> axes;
  for (int i = 0; i < shape.rank(); ++i) {
    if (i == 1) continue;
    axes.push_back(i);
    const Dim& d = shape.dims[static_cast<size_t>(i)];
    n = d.isStatic() && n >= 0 ? n * d.value : -1;
  }
  const double eps = bn.getFloat("epsilon", 1e-5f), mu = 1.0 - bn.getFloat("momentum", 0.9f);
  m.insertBefore(&bn);
  std::vector<Var> stats = m.op(OpKind::BatchNormTraining, {x, gamma, beta}, {{"epsilon", Attribute::ofFloat(static_cast<float>(eps))}}, 3);
  if (stats.size() != 3) return Status::error("BatchNormalization '" + bn.location() + "'");
  Var y = stats[0], mean_c = stats[1], var_c = stats[2];
  // With n unknown until the shapes are bound, the correction n/(n − 1) needs the batch size: a
  // symbolic batch is specialized before the step is compiled, so n is known by then; here it is
  // computed from the shape at run time.
  Var unbiased;
  if (n > 1) {
    unbiased = mul(var_c, static_cast<double>(n) / static_cast<double>(n - 1));
  } else {
    Var count = cast(m.op1(OpKind::ReduceProd, {m.op1(OpKind::Gather, {m.op1(OpKind::Shape, {x}),
                                                                        m.constant(Tensor::fromVector(DType::I64, {static_cast<int64_t>(axes.size())}, axes))})},
                           {{"keepdims", Attribute::ofInt(0)}}),
                     x.type().dtype);
    unbiased = mul(var_c, div(count, sub(count, scalarLike(count, 1.0))));
  }
  Var rm2 = add(mul(rm, 1.0 - mu), mul(mean_c, mu));
  Var rv2 = add(mul(rv, 1.0 - mu), mul(unbiased, mu));
  m.insertAtEnd();
  if (!m.ok()) return Status::error("BatchNormalization '" + bn.location() + "'");
  y.value()->setName(bn.result(0)->name());
  bn.result(0)->replaceAllUsesWith(y.value());
  bn.erase();
  return BatchNormStatistics{rm2.value(), rv2.value(), mean_c.value(), unbiased.value()};
}

// Inference Dropout -> training: keep mask = DropoutMask(x, ratio, seed) with seed a function of the
// run's seed, the op and the step, y = x/(1 − ratio) where kept.
Status trainingDropout(Model& m, Op& op, Var step, uint64_t seed, int index) {
  double ratio = 0.5;
  if (Value* r = op.operand(1)) {
    const Op* def = r->definingOp();
    auto value = def && def->kind() == OpKind::Constant ? constantOpValue(*def) : Expected<Tensor>(Status::error(""));
    if (!value.ok() || value->numel() != 1)
      return Status::error(str("Dropout '", op.location(), "': the ratio must be a constant to train"));
    ratio = value->getDouble(0);
  }
  if (op.operand(2) && !(op.operand(2)->definingOp() && op.operand(2)->definingOp()->kind() == OpKind::Constant))
    return Status::error(str("Dropout '", op.location(), "': training_mode must be a constant to train"));
  m.insertBefore(&op);
  Var x(&m, op.operand(0));
  Var s = add(mul(step, scalarOf(m, DType::I64, 1000003.0)), scalarOf(m, DType::I64, static_cast<double>((seed * 7919 + static_cast<uint64_t>(index) * 104729) % 1000000007)));
  Var keep = m.op1(OpKind::DropoutMask, {x, scalarOf(m, DType::F32, ratio), s});
  Var y = ratio >= 1 ? mul(x, 0.0) : where(keep, mul(x, 1.0 / (1.0 - ratio)), scalarLike(x, 0.0));
  m.insertAtEnd();
  if (!m.ok()) return Status::error("Dropout '" + op.location() + "'");
  y.value()->setName(op.result(0)->name());
  op.result(0)->replaceAllUsesWith(y.value());
  if (op.numResults() > 1) op.result(1)->replaceAllUsesWith(keep.value());
  op.erase();
  return Status::success();
}

// The loss (named "loss") and the metrics of the model outputs `outs` against the target.
struct LossParts {
  Var loss;
  std::vector<std::pair<std::string, Var>> metrics;
  Var target;
  Var teacher;  // the teacher's logits (distillation)
};

// T²·KL(softmax(t/T) ‖ softmax(s/T)) summed over `axis`, averaged over the rest. The T² keeps the
// soft term's gradients on the scale of the task loss's as T changes (Hinton et al. 2015, §2).
Var distillationLoss(Var student, Var teacher, int64_t axis, double temperature) {
  Var log_s = logSoftmax(mul(student, 1.0 / temperature), axis);
  Var log_t = logSoftmax(mul(teacher, 1.0 / temperature), axis);
  Var kl = reduceSum(mul(exp(log_t), sub(log_t, log_s)), {axis});
  return mul(reduceMean(kl), temperature * temperature);
}

// With `distill` (the training step), the loss mixes in config.distill_weight of the distillation
// term; the evaluation graph keeps the task loss.
Expected<LossParts> buildLoss(Model& m, const std::vector<Value*>& outs, const TrainingConfig& config, bool distill) {
  DLC_ASSIGN_OR_RETURN(LossSignature sig, lossSignature(config.loss));
  if (static_cast<int>(outs.size()) < sig.predictions)
    return Status::error(str("loss '", config.loss, "' takes ", sig.predictions, " model outputs; the model has ", outs.size()));
  std::vector<Var> preds;
  for (int i = 0; i < sig.predictions; ++i) preds.emplace_back(&m, outs[static_cast<size_t>(i)]);
  LossParts parts;
  if (sig.target) {
    if (findArgument(m.graph().body(), "target"))
      return Status::error("the model already has an input named 'target', the name training data uses for targets");
    const Type& p = preds[0].type();
    Type t = p;
    if (sig.class_target) {
      if (!p.shape.ranked || p.shape.rank() < 2)
        return Status::error(str("loss '", config.loss, "' needs scores [N, C, ...]; the model's output is ", p.toString()));
      int axis = static_cast<int>(config.loss_options.class_axis < 0 ? config.loss_options.class_axis + p.shape.rank()
                                                                      : config.loss_options.class_axis);
      if (axis < 1 || axis >= p.shape.rank())
        return Status::error(str("class axis ", config.loss_options.class_axis, " does not fit the model's output ", p.toString()));
      std::vector<Dim> dims = p.shape.dims;
      dims.erase(dims.begin() + axis);
      t = Type::tensor(DType::I64, Shape(dims));
    } else if (config.loss == "contrastive") {
      std::vector<Dim> dims = p.shape.ranked && p.shape.rank() > 0 ? std::vector<Dim>{p.shape.dims[0]} : std::vector<Dim>{Dim::unknown()};
      t = Type::tensor(p.dtype, Shape(dims));
    }
    parts.target = Var(&m, m.graph().body().addArgument(t, "target"));
  }
  parts.loss = loss(config.loss, preds, parts.target, config.loss_options);
  if (distill && config.distill_weight > 0) {
    if (!(config.distill_weight <= 1)) return Status::error(str("the distillation weight ", config.distill_weight, " is outside [0, 1]"));
    if (!(config.temperature > 0)) return Status::error(str("the distillation temperature ", config.temperature, " must be positive"));
    if (sig.predictions != 1) return Status::error(str("distillation needs a loss on one model output (logits); '", config.loss, "' takes ", sig.predictions));
    const Type& p = preds[0].type();
    if (!p.shape.ranked || p.shape.rank() < 2 || !isFloat(p.dtype))
      return Status::error(str("distillation needs float logits [N, C, ...]; the model's output is ", p.toString()));
    const int64_t axis = config.loss_options.class_axis < 0 ? config.loss_options.class_axis + p.shape.rank() : config.loss_options.class_axis;
    if (axis < 1 || axis >= p.shape.rank())
      return Status::error(str("class axis ", config.loss_options.class_axis, " does not fit the model's output ", p.toString()));
    if (findArgument(m.graph().body(), kTeacherLogits))
      return Status::error(str("the model already has an input named '", kTeacherLogits, "', the name distillation uses for the teacher's logits"));
    parts.teacher = Var(&m, m.graph().body().addArgument(p, kTeacherLogits));
    Var soft = distillationLoss(preds[0], parts.teacher, axis, config.temperature);
    parts.loss = add(mul(parts.loss, 1.0 - config.distill_weight), mul(soft, config.distill_weight));
  }
  if (!m.ok()) {
    Expected<std::unique_ptr<Graph>> failed = m.finish();
    return failed.status();
  }
  if (config.loss_options.reduction == "none") return Status::error("training needs a reduced loss (mean or sum), not 'none'");
  if (sig.class_target) {
    parts.metrics.emplace_back("correct", correctPredictions(preds[0], parts.target, config.loss_options));
    parts.metrics.emplace_back("counted", countedTargets(parts.target, config.loss_options));
  } else if (config.loss == "bce-with-logits" || config.loss == "focal") {
    parts.metrics.emplace_back("correct", correctBinary(preds[0], parts.target));
    parts.metrics.emplace_back("counted", reduceSum(cast(greater(add(abs(parts.target), 1.0), scalarLike(parts.target, 0.0)), DType::F32)));
  }
  return parts;
}

struct StepStates : StateSource {
  Model& m;
  std::vector<StateInfo>& states;
  std::vector<Value*> inputs;  // per state
  StepStates(Model& model, std::vector<StateInfo>& s) : m(model), states(s) {}
  Var add(const std::string& name, Tensor initial, StateInfo::Kind kind, Value* input = nullptr) {
    if (!input) {
      std::vector<Dim> dims;
      for (int64_t d : initial.shape()) dims.push_back(Dim::of(d));
      input = m.graph().body().addArgument(Type::tensor(initial.dtype(), Shape(dims)), name);
    }
    StateInfo info;
    info.name = name;
    info.kind = kind;
    info.initial = std::move(initial);
    states.push_back(std::move(info));
    inputs.push_back(input);
    return Var(&m, input);
  }
  Var state(const std::string& name, Tensor initial) override { return add(name, std::move(initial), StateInfo::Kind::Optimizer); }
};

}  // namespace

int untieExportedCopies(Graph& forward) {
  Region& body = forward.body();
  std::vector<Op*> copies;
  for (const auto& op : body.ops()) {
    Value* in = op->kind() == OpKind::Identity ? op->operand(0) : nullptr;
    if (in && in->definingOp() && in->definingOp()->kind() == OpKind::Constant && isFloatTensor(in) &&
        !op->result()->name().empty())
      copies.push_back(op.get());
  }
  for (Op* op : copies) {
    auto value = constantOpValue(*op->operand(0)->definingOp());
    if (!value.ok()) continue;
    Builder b(body);
    b.setInsertionPoint(op);
    Value* c = b.constant(value->clone(), op->result()->name());
    op->result()->replaceAllUsesWith(c);
    op->erase();
  }
  return static_cast<int>(copies.size());
}

Expected<std::vector<std::string>> trainableParameters(const Graph& forward, const std::vector<std::string>& freeze) {
  const Region& body = forward.body();
  std::unordered_set<const Value*> reach = reachingOutputs(body);
  std::vector<std::string> params;
  std::set<std::string> seen, frozen(freeze.begin(), freeze.end()), frozen_found;
  for (const auto& op : body.ops()) {
    if (op->kind() != OpKind::Constant) continue;
    const Value* v = op->result();
    const std::string& name = v->name();
    if (!isFloatTensor(v) || !v->type().shape.ranked || v->type().shape.rank() == 0 || name.empty()) continue;
    if (isBatchNormStatistic(v) || !reach.count(v)) continue;
    if (!seen.insert(name).second) return Status::error(str("two parameters are named '", name, "'"));
    if (frozen.count(name)) {
      frozen_found.insert(name);
      continue;
    }
    params.push_back(name);
  }
  for (const auto& f : frozen)
    if (!frozen_found.count(f)) return Status::error(str("--freeze names '", f, "', which is not a trainable parameter of the model"));
  return params;
}

std::vector<std::string> batchNormBuffers(const Graph& forward) {
  std::vector<std::string> out;
  std::set<std::string> seen;
  for (const auto& op : forward.body().ops()) {
    if (op->kind() != OpKind::BatchNormalization || op->getInt("training_mode", 0) != 0) continue;
    for (int i : {3, 4}) {
      const Value* v = op->operand(i);
      if (v && v->definingOp() && v->definingOp()->kind() == OpKind::Constant && !v->name().empty() && seen.insert(v->name()).second)
        out.push_back(v->name());
    }
  }
  return out;
}

// bf16 autocast of the compute-bound ops of `m`'s body (see TrainingConfig::precision): each f32
// MatMul/Gemm/Conv/ConvTranspose reads Cast(operand, bf16) and its result is cast back to f32
// right after it, under the result's name. The gradient flows back through the casts (f32 master
// weights get f32 gradients).
Status autocastBf16(Model& m) {
  Region& body = m.graph().body();
  std::vector<Op*> ops;
  for (const auto& op : body.ops()) ops.push_back(op.get());
  for (size_t k = 0; k < ops.size(); ++k) {
    Op* op = ops[k];
    const OpKind kind = op->kind();
    if (kind != OpKind::MatMul && kind != OpKind::Gemm && kind != OpKind::Conv && kind != OpKind::ConvTranspose) continue;
    bool f32 = op->numResults() == 1 && op->result(0)->type().isTensor() && op->result(0)->type().dtype == DType::F32;
    for (int i = 0; i < op->numOperands(); ++i)
      f32 = f32 && (!op->operand(i) || (op->operand(i)->type().isTensor() && op->operand(i)->type().dtype == DType::F32));
    if (!f32) continue;
    m.insertBefore(op);
    for (int i = 0; i < op->numOperands(); ++i)
      if (Value* v = op->operand(i)) op->setOperand(i, cast(Var(&m, v), DType::BF16).value());
    Value* r = op->result(0);
    Type low = r->type();
    low.dtype = DType::BF16;
    r->setType(low);
    if (k + 1 < ops.size()) m.insertBefore(ops[k + 1]);
    else m.insertAtEnd();
    Var back = cast(Var(&m, r), DType::F32);
    if (!m.ok()) break;
    const std::string name = r->name();
    r->replaceAllUsesWith(back.value());
    back.value()->definingOp()->setOperand(0, r);
    r->setName(name + ".bf16");
    back.value()->setName(name);
  }
  m.insertAtEnd();
  if (!m.ok()) return m.status();
  return Status::success();
}

Expected<TrainingStep> buildTrainingStep(std::unique_ptr<Graph> forward, const TrainingConfig& config) {
  if (config.precision != "f32" && config.precision != "bf16")
    return Status::error(str("precision '", config.precision, "' is not one of f32, bf16"));
  if (config.accumulate < 1) return Status::error("gradient accumulation needs at least 1 micro-batch per step");
  DLC_ASSIGN_OR_RETURN(OptimizerOptions opt, resolveOptimizer(config.optimizer));
  DLC_RETURN_IF_ERROR(checkSchedule(config.schedule));
  DLC_ASSIGN_OR_RETURN(std::vector<std::string> params, trainableParameters(*forward, config.freeze));
  if (params.empty()) return Status::error("the model has no trainable parameters (float initializers of rank >= 1 that reach an output)");
  std::vector<std::string> buffers = config.train_batchnorm ? batchNormBuffers(*forward) : std::vector<std::string>{};
  Region& body = forward->body();
  std::vector<Value*> outs = body.outputs();
  TrainingStep result;
  for (int i = 0; i < body.numArguments(); ++i) result.data_inputs.push_back(body.argument(i)->name());
  Model m(std::move(forward), "train.", config.seed);
  StepStates states(m, result.states);
  std::vector<Value*> nexts;  // per state

  // The step count first (seeds and schedules read it), then parameters and buffers.
  Var step = states.add("dlc.step", Tensor::scalar(DType::I64, 0), StateInfo::Kind::Step);
  nexts.push_back(nullptr);
  std::vector<Var> xs;
  std::vector<Tensor> x0;
  for (const auto& name : params) {
    DLC_ASSIGN_OR_RETURN(auto promoted, promoteToInput(body, name));
    xs.push_back(states.add(name, promoted.second, StateInfo::Kind::Parameter, promoted.first));
    x0.push_back(promoted.second);
    nexts.push_back(nullptr);
  }
  std::unordered_map<const Value*, size_t> buffer_state;
  for (const auto& name : buffers) {
    DLC_ASSIGN_OR_RETURN(auto promoted, promoteToInput(body, name));
    states.add(name, promoted.second, StateInfo::Kind::Buffer, promoted.first);
    buffer_state[promoted.first] = nexts.size();
    nexts.push_back(promoted.first);  // unchanged unless a BatchNormalization updates it
  }

  // Training mode: batch statistics in BatchNormalization, random masks in Dropout.
  std::vector<Op*> ops;
  for (const auto& op : body.ops()) ops.push_back(op.get());
  int dropout_index = 0;
  for (Op* op : ops) {
    if (op->kind() == OpKind::BatchNormalization && config.train_batchnorm && op->getInt("training_mode", 0) == 0 &&
        buffer_state.count(op->operand(3)) && buffer_state.count(op->operand(4))) {
      size_t mean_state = buffer_state[op->operand(3)], var_state = buffer_state[op->operand(4)];
      DLC_ASSIGN_OR_RETURN(BatchNormStatistics next, trainingBatchNorm(m, *op));
      nexts[mean_state] = next.running_mean;
      nexts[var_state] = next.running_var;
    } else if (op->kind() == OpKind::Dropout) {
      DLC_RETURN_IF_ERROR(trainingDropout(m, *op, step, config.seed, dropout_index++));
    }
  }

  if (config.precision == "bf16") DLC_RETURN_IF_ERROR(autocastBf16(m));
  outs = body.outputs();  // the casts back to f32 may have replaced outputs
  DLC_ASSIGN_OR_RETURN(LossParts lp, buildLoss(m, outs, config, /*distill=*/true));
  lp.loss.value()->setName("loss");

  // Gradients of the loss (the autodiff pass lowers the Gradient op), then accumulation (the mean of
  // the micro-batches' gradients), clipping of what is applied, and centralization.
  std::vector<std::string> names;
  for (const Var& x : xs) names.push_back(x.value()->name());
  std::vector<Var> grads = m.op(OpKind::Gradient, xs, {{"xs", Attribute::ofStrings(names)}, {"y", Attribute::ofString("loss")}},
                                static_cast<int>(xs.size()));
  if (!m.ok()) return m.finish().status();
  const double n_acc = static_cast<double>(config.accumulate);
  Var opt_step = config.accumulate > 1 ? div(step, scalarOf(m, DType::I64, n_acc)) : step;
  Var s = cast(opt_step, DType::F32);
  Var t = add(s, 1.0);
  Var apply;
  std::vector<Var> acc_in;
  if (config.accumulate > 1) {
    Var phase = m.op1(OpKind::Mod, {add(step, scalarOf(m, DType::I64, 1)), scalarOf(m, DType::I64, n_acc)});
    apply = equal(phase, scalarOf(m, DType::I64, 0));
    for (size_t k = 0; k < xs.size(); ++k) {
      acc_in.push_back(states.add(params[k] + ".grad_accumulator", Tensor(x0[k].dtype(), x0[k].shape()), StateInfo::Kind::Optimizer));
      grads[k] = add(acc_in[k], mul(grads[k], 1.0 / n_acc));
    }
    nexts.resize(result.states.size(), nullptr);
  }
  const std::vector<Var> accumulated = grads;  // what the accumulators keep: before clipping
  if (config.clip_value > 0)
    for (Var& g : grads) g = m.op1(OpKind::Clip, {g, scalarLike(g, -config.clip_value), scalarLike(g, config.clip_value)});
  if (config.clip_norm > 0) {
    Var total;
    for (const Var& g : grads) {
      Var sq = m.op1(OpKind::ReduceSumSquare, {g}, {{"keepdims", Attribute::ofInt(0)}});
      total = total.valid() ? add(total, cast(sq, DType::F32)) : cast(sq, DType::F32);
    }
    Var coef = minimum(div(scalarOf(m, DType::F32, config.clip_norm), add(sqrt(total), 1e-6)), scalarOf(m, DType::F32, 1.0));
    for (Var& g : grads) g = mul(g, cast(coef, g.type().dtype));
  }
  if (*opt.gradient_centralization)
    for (Var& g : grads) g = centralizeGradient(g);

  // The optimizer at the scheduled rate.
  Var lr = learningRate(s, *opt.lr, config.schedule);
  std::vector<ParamStep> steps;
  for (size_t k = 0; k < xs.size(); ++k) {
    Var lr_k = cast(lr, xs[k].type().dtype), t_k = cast(t, xs[k].type().dtype);
    steps.push_back(optimizerStep(opt, lr_k, t_k, xs[k], grads[k], params[k], x0[k], states));
  }
  if (!m.ok()) return m.finish().status();
  nexts.resize(result.states.size(), nullptr);
  auto stateIndex = [&](const Var& v) {
    for (size_t i = 0; i < states.inputs.size(); ++i)
      if (states.inputs[i] == v.value()) return i;
    return states.inputs.size();
  };
  for (size_t k = 0; k < xs.size(); ++k) {
    Var next = steps[k].next;
    if (apply.valid()) next = where(apply, next, xs[k]);
    nexts[1 + k] = next.value();
    for (auto& [in, out] : steps[k].states) nexts[stateIndex(in)] = (apply.valid() ? where(apply, out, in) : out).value();
  }
  for (size_t k = 0; k < acc_in.size(); ++k)
    nexts[stateIndex(acc_in[k])] = where(apply, scalarLike(acc_in[k], 0.0), accumulated[k]).value();
  nexts[0] = add(step, scalarOf(m, DType::I64, 1)).value();
  if (!m.ok()) return m.finish().status();

  // Outputs: loss, metrics (and the step's learning rate), then each state's next value.
  lp.metrics.emplace_back("lr", cast(lr, DType::F32));
  std::vector<Value*> outputs{lp.loss.value()};
  for (auto& [name, v] : lp.metrics) {
    if (!v.valid()) return m.finish().status();
    v.value()->setName(name);
    outputs.push_back(v.value());
    result.metrics.push_back(name);
  }
  for (size_t k = 0; k < result.states.size(); ++k) {
    Value* next = nexts[k];
    if (!next) return Status::error(str("internal error: state '", result.states[k].name, "' has no next value"));
    result.states[k].input = argumentIndex(body, states.inputs[k]);
    result.states[k].output = static_cast<int>(outputs.size());
    outputs.push_back(next);
  }
  if (lp.target.valid()) result.data_inputs.push_back("target");
  if (lp.teacher.valid()) result.data_inputs.push_back(kTeacherLogits);
  body.setOutputs(outputs);
  DLC_ASSIGN_OR_RETURN(result.graph, m.finish());
  return result;
}

Expected<EvalStep> buildEvalStep(std::unique_ptr<Graph> forward, const TrainingConfig& config) {
  DLC_ASSIGN_OR_RETURN(std::vector<std::string> params, trainableParameters(*forward, config.freeze));
  std::vector<std::string> buffers = config.train_batchnorm ? batchNormBuffers(*forward) : std::vector<std::string>{};
  Region& body = forward->body();
  std::vector<Value*> outs = body.outputs();
  EvalStep result;
  for (int i = 0; i < body.numArguments(); ++i) result.data_inputs.push_back(body.argument(i)->name());
  std::vector<std::string> inputs = params;
  inputs.insert(inputs.end(), buffers.begin(), buffers.end());
  for (const auto& name : inputs) {
    auto promoted = promoteToInput(body, name);
    if (!promoted.ok()) return promoted.status();
    result.state_inputs.push_back(name);
  }
  Model m(std::move(forward), "eval.", config.seed);
  DLC_ASSIGN_OR_RETURN(LossParts lp, buildLoss(m, outs, config, /*distill=*/false));
  std::vector<Value*> outputs{lp.loss.value()};
  lp.loss.value()->setName("loss");
  for (auto& [name, v] : lp.metrics) {
    if (!v.valid()) return m.finish().status();
    v.value()->setName(name);
    outputs.push_back(v.value());
  }
  if (lp.target.valid()) result.data_inputs.push_back("target");
  m.graph().body().setOutputs(outputs);
  DLC_ASSIGN_OR_RETURN(result.graph, m.finish());
  return result;
}

Expected<GradientStep> buildGradientStep(std::unique_ptr<Graph> forward, const TrainingConfig& config) {
  DLC_ASSIGN_OR_RETURN(std::vector<std::string> params, trainableParameters(*forward, config.freeze));
  if (params.empty()) return Status::error("the model has no trainable parameters (float initializers of rank >= 1 that reach an output)");
  Region& body = forward->body();
  std::vector<Value*> outs = body.outputs();
  GradientStep result;
  for (int i = 0; i < body.numArguments(); ++i) result.data_inputs.push_back(body.argument(i)->name());
  std::vector<Value*> inputs;
  for (const auto& name : params) {
    DLC_ASSIGN_OR_RETURN(auto promoted, promoteToInput(body, name));
    inputs.push_back(promoted.first);
    result.parameters.emplace_back(name, promoted.second);
  }
  Model m(std::move(forward), "grad.", config.seed);
  DLC_ASSIGN_OR_RETURN(LossParts lp, buildLoss(m, outs, config, /*distill=*/false));
  lp.loss.value()->setName("loss");
  std::vector<Var> xs;
  std::vector<std::string> names;
  for (Value* v : inputs) {
    xs.emplace_back(&m, v);
    names.push_back(v->name());
  }
  std::vector<Var> grads = m.op(OpKind::Gradient, xs, {{"xs", Attribute::ofStrings(names)}, {"y", Attribute::ofString("loss")}},
                                static_cast<int>(xs.size()));
  if (!m.ok()) return m.finish().status();
  std::vector<Value*> outputs{lp.loss.value()};
  for (const Var& g : grads) outputs.push_back(g.value());
  if (lp.target.valid()) result.data_inputs.push_back("target");
  m.graph().body().setOutputs(outputs);
  DLC_ASSIGN_OR_RETURN(result.graph, m.finish());
  return result;
}

Expected<StatisticsStep> buildBatchNormStatistics(std::unique_ptr<Graph> forward, const TrainingConfig& config) {
  DLC_ASSIGN_OR_RETURN(std::vector<std::string> params, trainableParameters(*forward, config.freeze));
  Region& body = forward->body();
  StatisticsStep result;
  for (int i = 0; i < body.numArguments(); ++i) result.data_inputs.push_back(body.argument(i)->name());
  for (const auto& name : params) {
    auto promoted = promoteToInput(body, name);
    if (!promoted.ok()) return promoted.status();
    result.state_inputs.push_back(name);
  }
  Model m(std::move(forward), "stats.", config.seed);
  std::vector<Value*> outputs;
  std::vector<Op*> ops;
  for (const auto& op : m.graph().body().ops()) ops.push_back(op.get());
  for (Op* bn : ops) {
    if (bn->kind() != OpKind::BatchNormalization || bn->getInt("training_mode", 0) != 0) continue;
    Value *rm = bn->operand(3), *rv = bn->operand(4);
    if (!rm->definingOp() || rm->definingOp()->kind() != OpKind::Constant || !rv->definingOp() ||
        rv->definingOp()->kind() != OpKind::Constant)
      continue;
    result.statistics.emplace_back(rm->name(), rv->name());
    DLC_ASSIGN_OR_RETURN(BatchNormStatistics st, trainingBatchNorm(m, *bn));
    outputs.push_back(st.mean);
    outputs.push_back(st.unbiased_var);
  }
  if (outputs.size() != 2 * result.statistics.size()) return Status::error("internal error: BatchNorm statistics out of step");
  if (outputs.empty()) return Status::error("the model has no BatchNormalization statistics to recompute");
  m.graph().body().setOutputs(outputs);
  DLC_ASSIGN_OR_RETURN(result.graph, m.finish());
  return result;
}

}  // namespace dlc::builder
