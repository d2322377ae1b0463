// The training options of `dlc train` (loss, optimizer, schedule, data, epochs...), shared by the
// commands that train: `dlc train` and `dlc prune --finetune`.
#pragma once

#include <string>
#include <vector>

#include "tools/cli.h"
#include "tools/train_loop.h"

namespace dlc::cli {

// Option names taking a value, and flags, that parseTrainOptions reads (not -o or the data file).
const std::vector<std::string>& trainValueOptions();
const std::vector<std::string>& trainFlagOptions();

// Fills `run` and `config` from `args`; the training data is the option named `data_option`.
// Errors are one-line messages.
Status parseTrainOptions(const Args& args, const char* data_option, TrainRun* run, builder::TrainingConfig* config);

}  // namespace dlc::cli
