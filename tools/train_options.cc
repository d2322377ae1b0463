// The training options `dlc train` takes, parsed once for every command that trains (`dlc prune
// --finetune` too).
#include "tools/train_options.h"

#include <unistd.h>

#include <cstdlib>
#include <optional>

#include "tools/artifact.h"
#include "tools/external.h"
#include "tools/pipeline.h"

namespace dlc::cli {
namespace {

Expected<std::vector<int64_t>> intList(const Args& args, const char* name) {
  std::vector<int64_t> out;
  for (const std::string& item : splitList(args.get(name))) {
    char* end = nullptr;
    long long v = std::strtoll(item.c_str(), &end, 10);
    if (*end != '\0' || v < 0) return Status::error(str("--", name, " expects non-negative integers, got '", item, "'"));
    out.push_back(v);
  }
  return out;
}

}  // namespace

const std::vector<std::string>& trainValueOptions() {
  static const std::vector<std::string> values{
      "val", "target", "epochs", "steps", "batch", "seed", "threads", "O", "loss", "reduction", "class-axis",
      "label-smoothing", "class-weights", "ignore-index", "delta", "margin", "pos-weight", "focal-alpha", "focal-gamma",
      "optimizer", "lr", "weight-decay", "momentum", "dampening", "betas", "eps", "alpha", "lr-decay", "initial-accumulator",
      "trust-coefficient", "lookahead-k", "lookahead-alpha", "clip-norm", "clip-value", "accumulate", "schedule", "warmup",
      "warmup-factor", "step-size", "gamma", "milestones", "t-max", "eta-min", "t0", "t-mult", "max-lr", "step-size-up",
      "step-size-down", "pct-start", "swa-start", "swa-lr", "swa-anneal-epochs", "freeze", "checkpoint", "resume", "log",
      "export-step", "teacher", "distill-weight", "temperature", "plot", "precision"};
  return values;
}

const std::vector<std::string>& trainFlagOptions() {
  static const std::vector<std::string> flags{"help", "no-shuffle", "nesterov", "centered", "amsgrad", "lookahead",
                                              "grad-centralization", "eval-batchnorm", "log-target"};
  return flags;
}

Status parseTrainOptions(const Args& args, const char* data_option, TrainRun* run, builder::TrainingConfig* config) {
  Status bad = Status::success();
  auto integer = [&](const char* name, int64_t fallback, int64_t min) -> int64_t {
    auto v = intOption(args, name, static_cast<int>(fallback), static_cast<int>(min));
    if (!v.ok() && bad.ok()) bad = v.status();
    return v.ok() ? *v : fallback;
  };
  auto number = [&](const char* name, double fallback, double min, double max) -> double {
    auto v = doubleOption(args, name, fallback, min, max);
    if (!v.ok() && bad.ok()) bad = v.status();
    return v.ok() ? *v : fallback;
  };
  auto optional = [&](const char* name, double min, double max) -> std::optional<double> {
    if (!args.has(name)) return std::nullopt;
    return number(name, 0, min, max);
  };
  run->train_path = args.get(data_option);
  run->val_path = args.get("val");
  run->target = args.get("target", "onednn");
  run->epochs = integer("epochs", 1, 0);
  run->max_steps = integer("steps", 0, 1);
  run->batch = integer("batch", 32, 1);
  run->seed = static_cast<uint64_t>(integer("seed", 0, 0));
  run->threads = static_cast<int>(integer("threads", 0, 1));
  run->shuffle = !args.has("no-shuffle");
  run->checkpoint_dir = args.get("checkpoint");
  run->resume_dir = args.get("resume");
  run->log_csv = args.get("log");
  run->plot_path = args.get("plot");
  if (!run->plot_path.empty()) DLC_RETURN_IF_ERROR(checkPlotPath(run->plot_path));
  run->export_step = args.get("export-step");
  run->progress = isatty(STDERR_FILENO) != 0;
  if (args.has("steps") && !args.has("epochs")) run->epochs = 1000000;
  auto level = parseOptLevel(args.get("O", "2"));
  if (!level.ok()) return level.status();
  run->opt_level = *level;
  Status known = checkTarget(run->target);
  if (!known.ok()) return known;

  builder::LossOptions& lo = config->loss_options;
  config->loss = args.get("loss", "cross-entropy");
  lo.reduction = args.get("reduction", "mean");
  lo.class_axis = integer("class-axis", 1, -16);
  lo.label_smoothing = number("label-smoothing", 0, 0, 1);
  for (const std::string& w : splitList(args.get("class-weights"))) lo.class_weights.push_back(std::strtof(w.c_str(), nullptr));
  if (args.has("ignore-index")) {
    char* end = nullptr;
    std::string text = args.get("ignore-index");
    lo.ignore_index = std::strtoll(text.c_str(), &end, 10);
    if (text.empty() || *end) return Status::error(str("--ignore-index must be an integer, got '", text, "'"));
  }
  lo.delta = number("delta", 1, 0, 1e30);
  lo.margin = number("margin", 1, 0, 1e30);
  lo.pos_weight = number("pos-weight", 1, 0, 1e30);
  lo.alpha = number("focal-alpha", 0.25, -1, 1);
  lo.gamma = number("focal-gamma", 2, 0, 100);
  lo.log_target = args.has("log-target");

  builder::OptimizerOptions& oo = config->optimizer;
  oo.name = args.get("optimizer", "adamw");
  oo.lr = optional("lr", 0, 1e6);
  oo.weight_decay = optional("weight-decay", 0, 1e6);
  oo.momentum = optional("momentum", 0, 1);
  oo.dampening = optional("dampening", 0, 1);
  oo.epsilon = optional("eps", 0, 1);
  oo.alpha = optional("alpha", 0, 1);
  if (args.has("betas")) {
    std::vector<std::string> b = splitList(args.get("betas"));
    if (b.size() != 2) return Status::error("--betas takes two numbers: B1,B2");
    oo.beta1 = std::strtod(b[0].c_str(), nullptr);
    oo.beta2 = std::strtod(b[1].c_str(), nullptr);
    if (!(*oo.beta1 >= 0 && *oo.beta1 < 1 && *oo.beta2 >= 0 && *oo.beta2 < 1)) return Status::error("--betas must be in [0, 1)");
  }
  oo.nesterov = args.has("nesterov");
  oo.centered = args.has("centered");
  oo.amsgrad = args.has("amsgrad");
  oo.lr_decay = number("lr-decay", 0, 0, 1e6);
  oo.initial_accumulator_value = number("initial-accumulator", 0, 0, 1e6);
  oo.trust_coefficient = number("trust-coefficient", 1e-3, 0, 1e6);
  oo.lookahead = args.has("lookahead");
  oo.lookahead_k = integer("lookahead-k", 5, 1);
  oo.lookahead_alpha = number("lookahead-alpha", 0.5, 0, 1);
  if (args.has("grad-centralization")) oo.gradient_centralization = true;
  config->clip_norm = number("clip-norm", 0, 0, 1e30);
  config->clip_value = number("clip-value", 0, 0, 1e30);
  config->accumulate = integer("accumulate", 1, 1);
  config->precision = args.get("precision", "f32");
  config->seed = run->seed;
  config->train_batchnorm = !args.has("eval-batchnorm");
  config->freeze = splitList(args.get("freeze"));

  builder::ScheduleOptions& so = config->schedule;
  so.name = args.get("schedule", "constant");
  so.warmup = integer("warmup", 0, 0);
  so.warmup_factor = number("warmup-factor", 1.0 / 3, 1e-9, 1);
  run->step_size_epochs = integer("step-size", 0, 1);
  so.gamma = number("gamma", 0.1, 0, 1e6);
  auto milestones = intList(args, "milestones");
  if (!milestones.ok()) return milestones.status();
  run->milestone_epochs = *milestones;
  so.t_max = integer("t-max", 0, 1);
  so.eta_min = number("eta-min", 0, 0, 1e6);
  so.t_0 = integer("t0", 0, 1);
  so.t_mult = integer("t-mult", 1, 1);
  so.max_lr = number("max-lr", 0, 0, 1e6);
  so.step_size_up = integer("step-size-up", 2000, 1);
  so.step_size_down = integer("step-size-down", 0, 1);
  so.pct_start = number("pct-start", 0.3, 0, 1);
  run->swa_start = integer("swa-start", -1, 0);
  so.swa_lr = number("swa-lr", 0, 0, 1e6);
  so.swa_anneal_epochs = integer("swa-anneal-epochs", 10, 0);
  run->teacher_path = args.get("teacher");
  if (!args.has("teacher"))
    for (const char* o : {"distill-weight", "temperature"})
      if (args.has(o)) return Status::error(str("--", o, " applies to distillation: give --teacher MODEL.onnx"));
  config->distill_weight = args.has("teacher") ? number("distill-weight", 0.5, 0, 1) : 0;
  config->temperature = number("temperature", 4, 1e-6, 1e6);
  if (args.has("teacher") && config->distill_weight == 0) return Status::error("--distill-weight 0 turns distillation off: drop --teacher");
  if (run->swa_start >= 0 && !args.has("swa-lr")) return Status::error("--swa-start needs --swa-lr");
  if (so.name == "step" && run->step_size_epochs == 0) return Status::error("--schedule step needs --step-size EPOCHS");
  if (so.name == "multistep" && run->milestone_epochs.empty()) return Status::error("--schedule multistep needs --milestones E,E,...");
  if (so.name == "cyclic" && so.max_lr == 0) return Status::error("--schedule cyclic needs --max-lr");
  return bad;
}

}  // namespace dlc::cli
