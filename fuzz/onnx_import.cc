// libFuzzer harness: ONNX import. ModelProto bytes -> import -> verify -> the reference target's
// default pipeline (-O2: folding, fusion, memory planning), as `dlc compile` runs them.
#include <cstddef>
#include <cstdint>
#include <string>

#include "frontend/onnx/importer.h"
#include "fuzz/harness.h"
#include "ir/verifier.h"
#include "tools/pipeline.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string bytes(reinterpret_cast<const char*>(data), size);
  auto graph = dlc::onnx_import::importModelBytes(bytes, "<fuzz>.onnx", "");
  if (!graph.ok()) {
    dlc::fuzz::checkMessage(graph.status().message(), "importModelBytes");
    return 0;
  }
  dlc::Status valid = dlc::verifyGraph(**graph);
  if (!valid.ok()) {
    dlc::fuzz::checkMessage(valid.message(), "verifyGraph");
    return 0;
  }
  auto ctx = dlc::cli::makePassContext("reference", {});
  if (!ctx.ok()) dlc::fuzz::finding("makePassContext: " + ctx.status().message());
  dlc::Status optimized = dlc::cli::optimize(**graph, *ctx, 2);
  if (!optimized.ok()) dlc::fuzz::checkMessage(optimized.message(), "optimize");
  return 0;
}
