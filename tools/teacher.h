// Knowledge distillation's data: the teacher model's logits for every training sample, computed
// once before training (the data path has no augmentation, so every epoch would see the same ones).
#pragma once

#include <string>

#include "tools/dataset.h"
#include "tools/train_loop.h"

namespace dlc::cli {

// Runs the teacher model at `path` (.onnx or .dlcir) over every sample of `data`, in order and in
// batches of run.batch, on run.target, and appends its first output as the array
// builder::kTeacherLogits. The teacher's inputs are arrays of `data` by name, and its output must
// have the student's `logits` type (the dims after the batch). Errors name the teacher's file.
Status addTeacherLogits(const std::string& path, const TrainRun& run, const Type& logits, Dataset& data);

}  // namespace dlc::cli
