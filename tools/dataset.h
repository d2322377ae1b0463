// Training data for `dlc train`: the arrays of an .npz file (one per model input, plus `target`),
// checked against the model, and batches gathered from them in any sample order.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "ir/graph.h"
#include "ir/status.h"
#include "ir/tensor.h"
#include "ir/type.h"
#include "tools/npz.h"

namespace dlc::cli {

struct Dataset {
  std::string path;
  std::vector<std::string> names;  // in the order asked for
  std::vector<Tensor> arrays;      // first axis: the sample
  int64_t samples = 0;
};

// Each graph input's type by name (what loadDataset checks arrays against).
std::map<std::string, Type> inputTypes(const Graph& g);

// Reads the arrays `names` from `path` and checks them against `types` (each graph input's type, the
// first dim being the batch): dtype (floats of another width and integers of another width are
// converted), rank, and the static dims after the first. Errors name the file, the array and what
// the model expects; an array the model does not take is ignored with a note.
Expected<Dataset> loadDataset(const std::string& path, const std::vector<std::string>& names,
                              const std::map<std::string, Type>& types);
// The same checks on arrays already read (from `path`, which errors name).
Expected<Dataset> datasetOf(npz::Arrays arrays, const std::string& path, const std::vector<std::string>& names,
                            const std::map<std::string, Type>& types);

// Copies samples order[from, from + count) of every array into `batch` (allocated on first use:
// [count, sample dims...]). The buffers stay where they are across calls, so bindings to them hold.
void gatherBatch(const Dataset& data, const std::vector<int64_t>& order, int64_t from, int64_t count,
                 std::vector<Tensor>& batch);

// The shape of one batch of `count` samples of array i.
std::vector<int64_t> batchShape(const Dataset& data, size_t i, int64_t count);

}  // namespace dlc::cli
