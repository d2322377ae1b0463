// The harness every example of examples/models/ runs under: the example says how to build its
// model with the builder, how to make its data and how to train it; the harness
//   1. builds the model and checks its forward pass on every CPU target against the reference
//      target (the oracle) on a batch of the example's data,
//   2. trains it with `dlc train`'s machinery (cli::trainModel: the training step, the optimizer,
//      the epochs over the data) and checks that the loss fell,
//   3. with --export FILE.onnx, writes the trained model as ONNX, and with --io FILE.npz the
//      inputs it ran and the reference target's outputs for them (check_onnx.py runs the export
//      under ONNX Runtime and compares).
// It prints one line per step and exits non-zero, with a one-line error, when any check fails.
#pragma once

#include <cstdint>
#include <functional>
#include <random>
#include <string>
#include <vector>

#include "frontend/builder/model.h"
#include "frontend/builder/training_step.h"
#include "ir/data_value.h"
#include "tools/npz.h"
#include "tools/train_loop.h"

namespace dlc::examples {

// What a custom training (Example::train) reports: a measure per round that must fall, what it
// measures, the trained values by name and the steps run.
struct Trained {
  std::vector<double> losses;
  std::string measure;
  std::map<std::string, Tensor> values;
  int64_t steps = 0;
};

struct Example {
  std::string name;
  std::string summary;  // one line for --help
  // Declares the model's inputs, layers and outputs.
  std::function<void(builder::Model&)> build;
  // `samples` samples of every model input (and "target" unless the loss is "model"), first axis
  // the sample; the first `batch` of them are also the forward check's inputs.
  std::function<npz::Arrays(std::mt19937_64& rng, int64_t samples)> data;
  builder::TrainingConfig config;
  int64_t samples = 256, batch = 32, epochs = 4;
  // The loss must fall: the last epoch's mean training loss at most this fraction of the first's.
  double loss_ratio = 0.9;
  // Forward check: |target − reference| <= tolerance × max(1, max |reference|) per output.
  double tolerance = 1e-4;
  std::string train_target = "onednn";
  uint64_t seed = 1;
  // Training other than one cli::trainModel run (a GAN's alternating steps): given the model, the
  // data and a TrainRun set up as the default one would be (target, epochs, batch, seed, data).
  std::function<Expected<Trained>(const Graph& model, const npz::Arrays& data, const cli::TrainRun& run)> train;
  // More checks on the trained model (generation with a KV cache, saliency maps, ...), run after
  // training with the forward check's inputs; they print their own lines.
  std::function<Status(const Graph& trained, const std::vector<DataValue>& inputs)> after;
};

// Compiles (a copy of) `graph` for `target` with its inputs' shapes and runs it on `inputs`.
Expected<std::vector<DataValue>> runOnTarget(const Graph& graph, const std::string& target, const std::vector<DataValue>& inputs);

// The named float constants of `graph` (its parameters' current values).
std::map<std::string, Tensor> namedConstants(const Graph& graph);

// Runs the example (see the top of this file); returns the process's exit status.
int runExample(const Example& example, int argc, char** argv);

// Data helpers: a tensor of N(0, 1) or U[lo, hi) floats, or integers in [0, n).
Tensor normal(std::mt19937_64& rng, std::vector<int64_t> shape, float scale = 1.0f);
Tensor uniform(std::mt19937_64& rng, std::vector<int64_t> shape, float lo, float hi);
Tensor classes(std::mt19937_64& rng, std::vector<int64_t> shape, int64_t n);
// Classes of samples x [S, F...] given by the argmax of a fixed random linear map of x (a learnable
// task; the map comes from `rng`).
Tensor linearClasses(std::mt19937_64& rng, const Tensor& x, int64_t n);

}  // namespace dlc::examples
