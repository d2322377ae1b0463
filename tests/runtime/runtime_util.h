// Helpers for the runtime tests: compiling textual IR to artifact bytes, a counting allocator,
// and reference results from the interpreter (the oracle the runtime is checked against).
#pragma once

#include <gtest/gtest.h>

#include <atomic>
#include <cmath>
#include <cstdlib>
#include <string>
#include <vector>

#include "backends/artifact_writer.h"
#include "backends/reference/interpreter.h"
#include "dlc/runtime.hpp"
#include "dlc_kernels_reference.h"
#include "ir/parser.h"
#include "ir/verifier.h"

namespace dlc::testing {

inline std::string compileIr(const std::string& text) {
  auto g = parseGraph(text, "test.dlcir");
  EXPECT_TRUE(g.ok()) << g.status().message();
  if (!g.ok()) return {};
  Status v = verifyGraph(**g);
  EXPECT_TRUE(v.ok()) << v.message();
  auto bytes = backends::writeArtifact(**g, backends::ArtifactOptions{});
  EXPECT_TRUE(bytes.ok()) << bytes.status().message();
  return bytes.ok() ? *bytes : std::string();
}

// The interpreter's outputs for `text` on `inputs`.
inline std::vector<Tensor> interpret(const std::string& text, const std::vector<Tensor>& inputs) {
  auto g = parseGraph(text, "test.dlcir");
  EXPECT_TRUE(g.ok());
  std::vector<DataValue> in;
  for (const Tensor& t : inputs) in.push_back(DataValue::ofTensor(t));
  auto out = ref::Interpreter(**g).run(in);
  EXPECT_TRUE(out.ok()) << out.status().message();
  std::vector<Tensor> result;
  if (out.ok())
    for (auto& v : *out) result.push_back(v.tensor);
  return result;
}

inline void registerReference() { runtime::check(dlc_kernels_reference_register()); }

// Counts allocations, so tests can tell whether a run allocated.
struct CountingAllocator {
  std::atomic<int> allocations{0};
  std::atomic<int> frees{0};
  std::atomic<size_t> last_size{0};  // bytes of the latest allocation
  dlc_allocator get() {
    return dlc_allocator{this,
                         [](void* user, size_t size, size_t alignment) -> void* {
                           static_cast<CountingAllocator*>(user)->allocations++;
                           static_cast<CountingAllocator*>(user)->last_size = size;
                           size = (size + alignment - 1) / alignment * alignment;
                           return aligned_alloc(alignment, size ? size : alignment);
                         },
                         [](void* user, void* p) {
                           static_cast<CountingAllocator*>(user)->frees++;
                           free(p);
                         }};
  }
};

// Owns a status for assertions: code and message.
struct StatusResult {
  dlc_status_code code;
  std::string message;
  explicit StatusResult(dlc_status s) : code(dlc_status_code_get(s)), message(dlc_status_message(s)) { dlc_status_free(s); }
};

inline std::vector<float> floats(const dlc_tensor& t) {
  const float* p = static_cast<const float*>(t.data);
  return std::vector<float>(p, p + t.bytes / sizeof(float));
}

}  // namespace dlc::testing
