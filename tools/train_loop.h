// The training driver of `dlc train`: builds the training step (and the evaluation graph) from an
// inference graph, compiles them for a target, and runs epochs over .npz data through libdlcrt,
// with a progress bar, per-epoch lines, a CSV log, checkpoints, resume and SWA.
#pragma once

#include <functional>
#include <map>
#include <string>
#include <vector>

#include "frontend/builder/training_step.h"
#include "ir/graph.h"
#include "tools/cli.h"
#include "tools/npz.h"

namespace dlc::cli {

// One finished epoch, as `dlc train` prints it (NaN where not measured: accuracy without a
// classification loss, validation without --val).
struct EpochStats {
  int64_t epoch = 0, epochs = 0;  // 1-based, of `epochs`
  int64_t steps = 0;              // optimizer micro-batch steps so far
  double train_loss = 0, train_accuracy = 0, val_loss = 0, val_accuracy = 0, lr = 0, seconds = 0;
};

struct TrainRun {
  std::string target = "onednn";
  int opt_level = 2;
  int threads = 0;                // 0: every CPU the process may use
  int64_t epochs = 1;
  int64_t max_steps = 0;          // > 0: stop after this many micro-batch steps
  int64_t batch = 32;
  uint64_t seed = 0;              // shuffling (and, through the config, dropout)
  bool shuffle = true;
  std::string train_path, val_path;
  // In-memory training data instead of reading train_path (which then only names it in errors):
  // the C++ examples make their data themselves.
  const npz::Arrays* train_arrays = nullptr;
  std::string checkpoint_dir;     // a checkpoint after every epoch
  std::string resume_dir;         // continue from its checkpoint
  std::string log_csv;            // one line per epoch
  std::string plot_path;          // the training curves drawn from the log after the last epoch
  std::string export_step;        // also write the compiled training step as a .dlc artifact
  std::string teacher_path;       // distillation (config.distill_weight > 0): the teacher model
  bool progress = false;          // a progress bar on stderr (a terminal)
  int64_t swa_start = -1;         // SWA: average the weights after every epoch from this one on
  // Schedule periods given in epochs (StepLR and MultiStepLR are stepped per epoch in torch code),
  // turned into optimizer steps once the data fixes the steps per epoch.
  int64_t step_size_epochs = 0;
  std::vector<int64_t> milestone_epochs;
  EpochCallback on_epoch;  // after each epoch's line; false stops the training there
};

struct TrainResult {
  std::map<std::string, Tensor> values;  // trained parameters and BatchNorm statistics, by name
  int64_t steps = 0;                     // micro-batch steps run (in this process)
  int64_t epochs_done = 0;               // epochs completed, counting resumed ones
  double last_train_loss = 0, last_val_accuracy = -1;
};

// Trains `forward` with `config` as `run` says. Errors (data that does not fit the model, a
// non-finite loss, a checkpoint of another model) are one-line messages; nothing is written then
// except earlier checkpoints.
Expected<TrainResult> trainModel(const Graph& forward, builder::TrainingConfig config, const TrainRun& run);

// The task loss's gradients over the data at `path`: the gradient step of `forward` (inference mode)
// compiled for run.target and run over every full batch of run.batch samples in file order (fewer
// samples than a batch: one batch of them all); `each` receives each batch's gradients by
// parameter name. Returns the number of batches.
Expected<int64_t> forEachGradient(const Graph& forward, const builder::TrainingConfig& config, const TrainRun& run,
                                  const std::string& path, const std::function<void(const std::map<std::string, Tensor>&)>& each);

}  // namespace dlc::cli
