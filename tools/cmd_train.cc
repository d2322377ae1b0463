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
#include "tools/train_options.h"

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
    "                           target 1 = similar), triplet (three outputs, no target),\n"
    "                           model (the first output is the loss itself, a scalar)\n"
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
    "  --precision P            f32 (default) or bf16: mixed precision, MatMul/Gemm/Conv in bf16 on\n"
    "                           f32 master weights (torch.autocast); the loss and optimizer stay f32\n"
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
    "  --plot FILE.png          loss and accuracy per epoch drawn after training (.png, .svg or\n"
    "                           .pdf; by the dlc Python package with matplotlib)\n"
    "  --export-step FILE.dlc   also write the compiled training step (state included) for the C API\n"
    "distillation (Hinton et al.):\n"
    "  --teacher MODEL.onnx     train against the teacher's logits too (computed once over the\n"
    "                           data): loss = (1 - W)·task + W·T²·KL(softmax(teacher/T) || softmax(out/T)),\n"
    "                           the KL summed over the class axis, averaged over the rest; the\n"
    "                           validation loss stays the task loss\n"
    "  --distill-weight W       (default 0.5)   --temperature T (default 4)\n";

}  // namespace

Status writeTrainedModel(Graph& graph, const std::string& path);

int runTrain(const std::vector<std::string>& argv, const EpochCallback& on_epoch) {
  std::vector<std::string> values = trainValueOptions();
  values.insert(values.end(), {"output", "data"});
  const std::vector<std::string>& flags = trainFlagOptions();
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
  if (Status parsed = parseTrainOptions(*args, "data", &run, &config); !parsed.ok()) return fail(parsed);
  run.on_epoch = on_epoch;

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
