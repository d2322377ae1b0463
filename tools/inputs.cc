// Graph inputs shared by the run and bench subcommands: --input matching, file reading, random data.
#include "tools/inputs.h"

#include "frontend/onnx/importer.h"
#include "tools/cli.h"
#include "tools/npy.h"

namespace dlc::cli {
namespace {

// splitmix64: a tiny generator whose sequence is the same on every platform and standard library
// (std::uniform_real_distribution is not), so generated benchmark inputs are reproducible.
uint64_t nextRandom(uint64_t& state) {
  uint64_t z = (state += 0x9E3779B97F4A7C15ull);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

}  // namespace

Expected<std::vector<std::string>> matchInputFiles(const Region& body, const std::vector<std::string>& specs) {
  std::vector<std::string> files(static_cast<size_t>(body.numArguments()));
  size_t next_positional = 0;
  for (const std::string& spec : specs) {
    size_t eq = spec.find('=');
    std::string name = eq == std::string::npos ? "" : spec.substr(0, eq);
    int index = -1;
    if (!name.empty()) {
      for (int i = 0; i < body.numArguments(); ++i)
        if (body.argument(i)->name() == name) index = i;
      // A path containing '=' that is not an input name is treated as a plain file.
      if (index < 0) name.clear();
    }
    std::string file = name.empty() ? spec : spec.substr(eq + 1);
    if (index < 0) {
      while (next_positional < files.size() && !files[next_positional].empty()) ++next_positional;
      if (next_positional >= files.size())
        return Status::error(str("too many inputs: the model takes ", body.numArguments(), " (", file, ")"));
      index = static_cast<int>(next_positional);
    } else if (!files[static_cast<size_t>(index)].empty()) {
      return Status::error(str("input '", name, "' given twice"));
    }
    files[static_cast<size_t>(index)] = file;
  }
  return files;
}

Expected<DataValue> readInput(const std::string& path, const Type& type) {
  if (endsWith(path, ".npy")) {
    DLC_ASSIGN_OR_RETURN(Tensor t, npy::readFile(path));
    return DataValue::ofTensor(std::move(t));
  }
  return onnx_import::readValueFile(path, &type);
}

Expected<DataValue> randomInput(const Value& input, uint64_t seed) {
  const Type& type = input.type();
  auto unsupported = [&](const std::string& why) {
    return Status::error(str("cannot generate input '", input.name(), "' of type ", type.toString(), ": ", why,
                             "; pass it with --input"));
  };
  if (!type.isTensor()) return unsupported("only tensors are generated");
  if (type.dtype == DType::String) return unsupported("strings are not generated");
  if (!type.shape.ranked) return unsupported("its rank is unknown");
  std::vector<int64_t> shape;
  for (const Dim& d : type.shape.dims) {
    if (!d.isStatic() && !d.isSymbolic()) return unsupported("a dim is unknown");
    shape.push_back(d.isStatic() ? d.value : 1);
  }
  Tensor t(type.dtype, shape);
  uint64_t state = seed;
  const int64_t n = t.numel();
  for (int64_t i = 0; i < n; ++i) {
    uint64_t r = nextRandom(state);
    if (isFloat(type.dtype))
      t.setDouble(i, static_cast<double>(r >> 11) * 0x1.0p-52 - 1.0);  // 53 random bits -> [-1, 1)
    else if (type.dtype == DType::Bool)
      t.setInt(i, static_cast<int64_t>(r >> 63));
    else
      t.setInt(i, static_cast<int64_t>(r % 10));
  }
  return DataValue::ofTensor(std::move(t));
}

}  // namespace dlc::cli
