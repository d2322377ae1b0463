// Loading and checking .npz training data, and gathering shuffled batches.
#include "tools/dataset.h"

#include <cstring>
#include <iostream>

#include "tools/npz.h"

namespace dlc::cli {
namespace {

bool sameFamily(DType a, DType b) {
  bool ia = isInteger(a) && a != DType::Bool, ib = isInteger(b) && b != DType::Bool;
  return (isFloat(a) && isFloat(b)) || (ia && ib);
}

}  // namespace

std::map<std::string, Type> inputTypes(const Graph& g) {
  std::map<std::string, Type> types;
  for (int i = 0; i < g.body().numArguments(); ++i) types[g.body().argument(i)->name()] = g.body().argument(i)->type();
  return types;
}

Expected<Dataset> loadDataset(const std::string& path, const std::vector<std::string>& names,
                              const std::map<std::string, Type>& types) {
  DLC_ASSIGN_OR_RETURN(npz::Arrays arrays, npz::readFile(path));
  return datasetOf(std::move(arrays), path, names, types);
}

Expected<Dataset> datasetOf(npz::Arrays arrays, const std::string& path, const std::vector<std::string>& names,
                            const std::map<std::string, Type>& types) {
  Dataset d;
  d.path = path;
  std::string have;
  for (const auto& [n, t] : arrays) have += (have.empty() ? "" : ", ") + n;
  for (const std::string& name : names) {
    const Tensor* found = nullptr;
    for (const auto& [n, t] : arrays)
      if (n == name) found = &t;
    const Type& type = types.at(name);
    if (!found)
      return Status::error(str(path, " has no array '", name, "' (", name == "target" ? "the loss's target" : "a model input",
                               ", ", type.toString(), "); it has: ", have.empty() ? "nothing" : have));
    Tensor t = *found;
    auto where = [&] { return str(path, ": array '", name, "' "); };
    if (t.rank() < 1) return Status::error(where() + "is a scalar; the first axis must be the sample");
    if (t.dtype() != type.dtype) {
      if (!sameFamily(t.dtype(), type.dtype))
        return Status::error(str(where(), "is ", dtypeName(t.dtype()), ", the model takes ", type.toString()));
      t = t.castTo(type.dtype);
    }
    if (type.shape.ranked) {
      if (t.rank() != type.shape.rank())
        return Status::error(str(where(), "has shape ", Shape::of(t.shape()).toString(), "; the model takes ", type.toString(),
                                 " (the first axis is the sample)"));
      for (int i = 1; i < t.rank(); ++i) {
        const Dim& dim = type.shape.dims[static_cast<size_t>(i)];
        if (dim.isStatic() && dim.value != t.dim(i))
          return Status::error(str(where(), "has shape ", Shape::of(t.shape()).toString(), "; the model takes ", type.toString(),
                                   " (the first axis is the sample)"));
      }
    }
    if (!d.names.empty() && t.dim(0) != d.samples)
      return Status::error(str(where(), "has ", t.dim(0), " samples, '", d.names[0], "' has ", d.samples));
    d.samples = t.dim(0);
    d.names.push_back(name);
    d.arrays.push_back(t);
  }
  if (d.samples == 0) return Status::error(str(path, " holds no samples"));
  // Notes only once the data is usable: an error stays the one line it is.
  for (const auto& [n, t] : arrays) {
    bool used = false;
    for (const auto& want : names) used = used || want == n;
    if (!used) std::cerr << "dlc: note: " << path << ": array '" << n << "' is not a model input; ignored\n";
  }
  return d;
}

std::vector<int64_t> batchShape(const Dataset& data, size_t i, int64_t count) {
  std::vector<int64_t> s = data.arrays[i].shape();
  s[0] = count;
  return s;
}

void gatherBatch(const Dataset& data, const std::vector<int64_t>& order, int64_t from, int64_t count,
                 std::vector<Tensor>& batch) {
  batch.resize(data.arrays.size());
  for (size_t i = 0; i < data.arrays.size(); ++i) {
    const Tensor& a = data.arrays[i];
    if (!batch[i].defined() || batch[i].dim(0) != count) batch[i] = Tensor::uninitialized(a.dtype(), batchShape(data, i, count));
    const size_t row = a.nbytes() / static_cast<size_t>(a.dim(0));
    const char* src = static_cast<const char*>(a.raw());
    char* dst = static_cast<char*>(batch[i].raw());
    for (int64_t k = 0; k < count; ++k)
      std::memcpy(dst + static_cast<size_t>(k) * row, src + static_cast<size_t>(order[static_cast<size_t>(from + k)]) * row, row);
  }
}

}  // namespace dlc::cli
