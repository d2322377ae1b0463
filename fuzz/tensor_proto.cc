// libFuzzer harness: ONNX test-data values (`dlc run --input x.pb`): TensorProto, SequenceProto and
// OptionalProto bytes, read without an expected type (the kind guessed) and as an f32 tensor.
#include <cstddef>
#include <cstdint>
#include <string>

#include "frontend/onnx/importer.h"
#include "fuzz/harness.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string bytes(reinterpret_cast<const char*>(data), size);
  auto guessed = dlc::onnx_import::readValueBytes(bytes, "<fuzz>.pb", nullptr);
  if (!guessed.ok()) dlc::fuzz::checkMessage(guessed.status().message(), "readValueBytes");
  const dlc::Type f32 = dlc::Type::tensor(dlc::DType::F32);
  auto typed = dlc::onnx_import::readValueBytes(bytes, "<fuzz>.pb", &f32);
  if (!typed.ok()) dlc::fuzz::checkMessage(typed.status().message(), "readValueBytes(f32)");
  return 0;
}
