// `dlc train`: trains an inference model on .npz data and writes the trained model.
#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <iostream>

#include "frontend/builder/trainer.h"
#include "frontend/onnx/exporter.h"
#include "ir/printer.h"
#include "tools/artifact.h"
#include "tools/cli.h"
#include "tools/pipeline.h"
#include "tools/train_loop.h"

namespace dlc::cli {
namespace {

constexpr const char* kHelp =
    "usage: dlc train MODEL(.onnx|.dlcir) --data TRAIN.npz -o TRAINED(.onnx|.dlcir) [options]\n"
    "\n"
    "Trains the model's float initializers (its parameters) with the same IR, passes and backends\n"
    "inference uses: the training step (forward, loss, gradients by the autodiff pass, optimizer)\n"
    "is one compiled function whose parameters and optimizer state stay in the session. The output\n"
    "is the inference model with the trained weights (BatchNorm statistics included).\n"
    "\n"
    "Data: TRAIN.npz holds one array per model input, named like the input, plus `target` (class\n"
    "indices for cross-entropy/nll, a tensor like the output for regression); the first axis is the\n"
    "sample. Batches are drawn in an order shuffled every epoch from --seed; the last incomplete\n"
    "batch of an epoch is skipped (a compiled step has one batch size). --val VAL.npz is evaluated\n"
    "after every epoch (every sample).\n"
    "\n"
    "  -o, --output FILE        the trained model: .onnx, or .dlcir (textual IR); written atomically\n"
    "  --target T               cpu, onednn (default) or reference\n"
    "  --epochs N               passes over the data (default 1)   --steps N   stop after N steps\n"
    "  --batch N                samples per step (default 32)      --seed N    shuffling, dropout\n"
    "  --threads N              session threads (default: every CPU)   -O0..-O3 (default -O2)\n"
    "  --no-shuffle             batches in file order\n"
    "loss (torch.nn's semantics):\n"
    "  --loss L                 cross-entropy (default), nll, mse, l1, huber, smooth-l1,\n"
    "                           bce-with-logits, kl-div, focal, dice, contrastive (two outputs,\n"
    "                           target 1 = similar), triplet (three outputs, no target)\n"
    "  --reduction R            mean (default) or sum (kl-div also batchmean)\n"
    "  --class-axis N           the classes' axis of the output (default 1, as torch)\n"
    "  --label-smoothing E      --class-weights W,W,...   --ignore-index N (default -100)\n"
    "  --delta D                huber's delta / smooth-l1's beta (default 1)\n"
    "  --margin M               contrastive/triplet (default 1)   --pos-weight P   bce-with-logits\n"
    "  --focal-alpha A --focal-gamma G   (defaults 0.25, 2)       --log-target     kl-div\n"
    "optimizer (torch.optim's semantics and defaults):\n"
    "  --optimizer O            sgd, adam, adamw (default), rmsprop, adagrad, radam, lamb, lars,\n"
    "                           ranger (RAdam + Lookahead + gradient centralization)\n"
    "  --lr LR                  --weight-decay W   --momentum M   --dampening D   --nesterov\n"
    "  --betas B1,B2            --eps E   --alpha A (rmsprop)   --centered   --amsgrad\n"
    "  --lr-decay D (adagrad)   --initial-accumulator V   --trust-coefficient T (lars)\n"
    "  --lookahead              wrap the optimizer in Lookahead (--lookahead-k 5 --lookahead-alpha 0.5)\n"
    "  --grad-centralization    centre the gradients of weights of rank > 1\n"
    "  --clip-norm N            scale gradients to a global L2 norm <= N   --clip-value V\n"
    "  --accumulate N           average the gradients of N batches per optimizer step\n"
    "schedule (torch.optim.lr_scheduler's semantics, counted in optimizer steps):\n"
    "  --schedule S             constant (default), step, multistep, exponential, cosine,\n"
    "                           cosine-restarts, cyclic, one-cycle\n"
    "  --warmup N               linear warm-up over N steps first (--warmup-factor F, default 1/3)\n"
    "  --step-size E --gamma G  step: every E epochs   --milestones E,E,...   multistep (epochs)\n"
    "  --t-max N --eta-min L    cosine (T_max default: every step of the run)\n"
    "  --t0 N --t-mult M        cosine-restarts (T_0 default: one epoch)\n"
    "  --max-lr L               cyclic (from --lr) and one-cycle   --step-size-up N --step-size-down N\n"
    "  --pct-start P            one-cycle (default 0.3)\n"
    "  --swa-start E            stochastic weight averaging from epoch E (0-based) on; the output\n"
    "                           holds the averaged weights (--swa-lr L, --swa-anneal-epochs N)\n"
    "more:\n"
    "  --freeze NAME,...        keep these parameters as they are\n"
    "  --eval-batchnorm         keep BatchNorm in inference mode (no batch statistics)\n"
    "  --checkpoint DIR         save params, optimizer state and step after every epoch\n"
    "  --resume DIR             continue from DIR's checkpoint (bit-identical with the same options)\n"
    "  --log FILE.csv           one line per epoch: loss, accuracy, validation, lr, time\n"
    "  --export-step FILE.dlc   also write the compiled training step (state included) for the C API\n";

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

Status writeTrainedModel(Graph& graph, const std::string& path);

int runTrain(const std::vector<std::string>& argv) {
  static const std::vector<std::string> values{
      "output", "data", "val", "target", "epochs", "steps", "batch", "seed", "threads", "O", "loss", "reduction", "class-axis",
      "label-smoothing", "class-weights", "ignore-index", "delta", "margin", "pos-weight", "focal-alpha", "focal-gamma",
      "optimizer", "lr", "weight-decay", "momentum", "dampening", "betas", "eps", "alpha", "lr-decay", "initial-accumulator",
      "trust-coefficient", "lookahead-k", "lookahead-alpha", "clip-norm", "clip-value", "accumulate", "schedule", "warmup",
      "warmup-factor", "step-size", "gamma", "milestones", "t-max", "eta-min", "t0", "t-mult", "max-lr", "step-size-up",
      "step-size-down", "pct-start", "swa-start", "swa-lr", "swa-anneal-epochs", "freeze", "checkpoint", "resume", "log",
      "export-step"};
  static const std::vector<std::string> flags{"help", "no-shuffle", "nesterov", "centered", "amsgrad", "lookahead",
                                              "grad-centralization", "eval-batchnorm", "log-target"};
  auto args = Args::parse(argv, values, flags);
  if (!args.ok()) return fail(args.status());
  if (args->has("help")) {
    std::cout << kHelp;
    return 0;
  }
  if (args->positional().size() != 1) return fail("train takes exactly one MODEL (see --help)");
  const std::string model_path = args->positional()[0];
  const std::string out_path = args->get("output");
  if (out_path.empty()) return fail("train needs -o TRAINED.onnx");
  if (!endsWith(out_path, ".onnx") && !endsWith(out_path, ".dlcir"))
    return fail(str("the output '", out_path, "' must end in .onnx or .dlcir"));
  if (!args->has("data")) return fail("train needs --data TRAIN.npz");

  TrainRun run;
  builder::TrainingConfig config;
  Status bad = Status::success();
  auto integer = [&](const char* name, int64_t fallback, int64_t min) -> int64_t {
    auto v = intOption(*args, name, static_cast<int>(fallback), static_cast<int>(min));
    if (!v.ok() && bad.ok()) bad = v.status();
    return v.ok() ? *v : fallback;
  };
  auto number = [&](const char* name, double fallback, double min, double max) -> double {
    auto v = doubleOption(*args, name, fallback, min, max);
    if (!v.ok() && bad.ok()) bad = v.status();
    return v.ok() ? *v : fallback;
  };
  auto optional = [&](const char* name, double min, double max) -> std::optional<double> {
    if (!args->has(name)) return std::nullopt;
    return number(name, 0, min, max);
  };
  run.train_path = args->get("data");
  run.val_path = args->get("val");
  run.target = args->get("target", "onednn");
  run.epochs = integer("epochs", 1, 0);
  run.max_steps = integer("steps", 0, 1);
  run.batch = integer("batch", 32, 1);
  run.seed = static_cast<uint64_t>(integer("seed", 0, 0));
  run.threads = static_cast<int>(integer("threads", 0, 1));
  run.shuffle = !args->has("no-shuffle");
  run.checkpoint_dir = args->get("checkpoint");
  run.resume_dir = args->get("resume");
  run.log_csv = args->get("log");
  run.export_step = args->get("export-step");
  run.progress = isatty(STDERR_FILENO) != 0;
  if (args->has("steps") && !args->has("epochs")) run.epochs = 1000000;
  auto level = parseOptLevel(args->get("O", "2"));
  if (!level.ok()) return fail(level.status());
  run.opt_level = *level;
  Status known = checkTarget(run.target);
  if (!known.ok()) return fail(known);

  builder::LossOptions& lo = config.loss_options;
  config.loss = args->get("loss", "cross-entropy");
  lo.reduction = args->get("reduction", "mean");
  lo.class_axis = integer("class-axis", 1, -16);
  lo.label_smoothing = number("label-smoothing", 0, 0, 1);
  for (const std::string& w : splitList(args->get("class-weights"))) lo.class_weights.push_back(std::strtof(w.c_str(), nullptr));
  if (args->has("ignore-index")) {
    char* end = nullptr;
    std::string text = args->get("ignore-index");
    lo.ignore_index = std::strtoll(text.c_str(), &end, 10);
    if (text.empty() || *end) return fail(str("--ignore-index must be an integer, got '", text, "'"));
  }
  lo.delta = number("delta", 1, 0, 1e30);
  lo.margin = number("margin", 1, 0, 1e30);
  lo.pos_weight = number("pos-weight", 1, 0, 1e30);
  lo.alpha = number("focal-alpha", 0.25, -1, 1);
  lo.gamma = number("focal-gamma", 2, 0, 100);
  lo.log_target = args->has("log-target");

  builder::OptimizerOptions& oo = config.optimizer;
  oo.name = args->get("optimizer", "adamw");
  oo.lr = optional("lr", 0, 1e6);
  oo.weight_decay = optional("weight-decay", 0, 1e6);
  oo.momentum = optional("momentum", 0, 1);
  oo.dampening = optional("dampening", 0, 1);
  oo.epsilon = optional("eps", 0, 1);
  oo.alpha = optional("alpha", 0, 1);
  if (args->has("betas")) {
    std::vector<std::string> b = splitList(args->get("betas"));
    if (b.size() != 2) return fail("--betas takes two numbers: B1,B2");
    oo.beta1 = std::strtod(b[0].c_str(), nullptr);
    oo.beta2 = std::strtod(b[1].c_str(), nullptr);
    if (!(*oo.beta1 >= 0 && *oo.beta1 < 1 && *oo.beta2 >= 0 && *oo.beta2 < 1)) return fail("--betas must be in [0, 1)");
  }
  oo.nesterov = args->has("nesterov");
  oo.centered = args->has("centered");
  oo.amsgrad = args->has("amsgrad");
  oo.lr_decay = number("lr-decay", 0, 0, 1e6);
  oo.initial_accumulator_value = number("initial-accumulator", 0, 0, 1e6);
  oo.trust_coefficient = number("trust-coefficient", 1e-3, 0, 1e6);
  oo.lookahead = args->has("lookahead");
  oo.lookahead_k = integer("lookahead-k", 5, 1);
  oo.lookahead_alpha = number("lookahead-alpha", 0.5, 0, 1);
  if (args->has("grad-centralization")) oo.gradient_centralization = true;
  config.clip_norm = number("clip-norm", 0, 0, 1e30);
  config.clip_value = number("clip-value", 0, 0, 1e30);
  config.accumulate = integer("accumulate", 1, 1);
  config.seed = run.seed;
  config.train_batchnorm = !args->has("eval-batchnorm");
  config.freeze = splitList(args->get("freeze"));

  builder::ScheduleOptions& so = config.schedule;
  so.name = args->get("schedule", "constant");
  so.warmup = integer("warmup", 0, 0);
  so.warmup_factor = number("warmup-factor", 1.0 / 3, 1e-9, 1);
  run.step_size_epochs = integer("step-size", 0, 1);
  so.gamma = number("gamma", 0.1, 0, 1e6);
  auto milestones = intList(*args, "milestones");
  if (!milestones.ok()) return fail(milestones.status());
  run.milestone_epochs = *milestones;
  so.t_max = integer("t-max", 0, 1);
  so.eta_min = number("eta-min", 0, 0, 1e6);
  so.t_0 = integer("t0", 0, 1);
  so.t_mult = integer("t-mult", 1, 1);
  so.max_lr = number("max-lr", 0, 0, 1e6);
  so.step_size_up = integer("step-size-up", 2000, 1);
  so.step_size_down = integer("step-size-down", 0, 1);
  so.pct_start = number("pct-start", 0.3, 0, 1);
  run.swa_start = integer("swa-start", -1, 0);
  so.swa_lr = number("swa-lr", 0, 0, 1e6);
  so.swa_anneal_epochs = integer("swa-anneal-epochs", 10, 0);
  if (run.swa_start >= 0 && !args->has("swa-lr")) return fail("--swa-start needs --swa-lr");
  if (so.name == "step" && run.step_size_epochs == 0) return fail("--schedule step needs --step-size EPOCHS");
  if (so.name == "multistep" && run.milestone_epochs.empty()) return fail("--schedule multistep needs --milestones E,E,...");
  if (so.name == "cyclic" && so.max_lr == 0) return fail("--schedule cyclic needs --max-lr");
  if (!bad.ok()) return fail(bad);

  auto graph = loadModel(model_path);
  if (!graph.ok()) return fail(graph.status());
  if (int untied = builder::untieExportedCopies(**graph))
    std::cerr << "dlc: note: " << untied << " initializers are exporter copies of others (Identity of an initializer, as "
              << "torch.onnx.export writes equal tensors); they train as separate parameters\n";
  auto result = trainModel(**graph, config, run);
  if (!result.ok()) return fail(str(result.status().message(), " (", model_path, ")"));
  Status applied = builder::writeTrainedValues(**graph, result->values);
  if (!applied.ok()) return fail(applied);
  Status written = writeTrainedModel(**graph, out_path);
  if (!written.ok()) return fail(written);
  return 0;
}

// The trained inference model: textual IR, or ONNX through the exporter (the graph is the imported
// one with new initializer values, so it holds only standard ops).
Status writeTrainedModel(Graph& graph, const std::string& path) {
  if (endsWith(path, ".dlcir")) return writeFileAtomically(path, printGraph(graph));
  return onnx_export::exportModelFile(graph, path);
}

}  // namespace dlc::cli
