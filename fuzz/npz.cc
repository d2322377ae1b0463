// libFuzzer harness: the .npz reader (ZIP: stored and deflated members, ZIP64, CRC checks) and the
// training-data checks on what it reads (`dlc train --data`, `dlc quantize --calibrate`): arrays
// matched to a model's inputs and target, converted, and batches gathered.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <numeric>
#include <string>

#include "fuzz/harness.h"
#include "tools/dataset.h"
#include "tools/npz.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string bytes(reinterpret_cast<const char*>(data), size);
  auto arrays = dlc::npz::parse(bytes, "<fuzz>.npz");
  if (!arrays.ok()) {
    dlc::fuzz::checkMessage(arrays.status().message(), "npz::parse");
    return 0;
  }
  using dlc::Dim;
  using dlc::Type;
  dlc::Shape image;
  image.ranked = true;
  image.dims = {Dim::sym("N"), Dim::of(1), Dim::of(4), Dim::of(4)};
  dlc::Shape labels;
  labels.ranked = true;
  labels.dims = {Dim::sym("N")};
  std::map<std::string, Type> types = {{"image", Type::tensor(dlc::DType::F32, image)},
                                       {"target", Type::tensor(dlc::DType::I64, labels)}};
  auto set = dlc::cli::datasetOf(std::move(*arrays), "<fuzz>.npz", {"image", "target"}, types);
  if (!set.ok()) {
    dlc::fuzz::checkMessage(set.status().message(), "datasetOf");
    return 0;
  }
  std::vector<int64_t> order(static_cast<size_t>(set->samples));
  std::iota(order.begin(), order.end(), 0);
  std::reverse(order.begin(), order.end());
  std::vector<dlc::Tensor> batch;
  const int64_t n = std::min<int64_t>(set->samples, 3);
  for (int64_t from = 0; n > 0 && from + n <= set->samples; from += n) dlc::cli::gatherBatch(*set, order, from, n, batch);
  return 0;
}
