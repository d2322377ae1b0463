// libFuzzer harness: the .npy reader (versions 1-3, every dtype, Fortran order). An array it
// reads must survive serialize -> parse unchanged (bf16 comes back as f32, by design).
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>

#include "fuzz/harness.h"
#include "tools/npy.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string bytes(reinterpret_cast<const char*>(data), size);
  auto t = dlc::npy::parse(bytes, "<fuzz>.npy");
  if (!t.ok()) {
    dlc::fuzz::checkMessage(t.status().message(), "npy::parse");
    return 0;
  }
  auto written = dlc::npy::serialize(*t, "<fuzz>.npy");
  if (!written.ok()) {
    dlc::fuzz::checkMessage(written.status().message(), "npy::serialize");
    return 0;
  }
  auto again = dlc::npy::parse(*written, "<written>.npy");
  if (!again.ok()) dlc::fuzz::finding("a written .npy does not parse: " + again.status().message());
  if (t->dtype() == dlc::DType::BF16 || t->dtype() == dlc::DType::String) return 0;
  if (again->dtype() != t->dtype() || again->shape() != t->shape() || again->nbytes() != t->nbytes() ||
      std::memcmp(again->raw(), t->raw(), t->nbytes()) != 0)
    dlc::fuzz::finding("parse(serialize(parse(x))) differs from parse(x)");
  return 0;
}
