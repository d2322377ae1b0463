// libFuzzer harness: the .dlc loader and runtime. The input is an artifact's body (the
// FlatBuffer); the harness puts a valid header (magic, sizes, checksum) in front, so that mutations
// reach the FlatBuffers verifier and the semantic checks instead of stopping at the checksum.
// A model that loads gets a session (arenas up to 256 MiB), zero inputs of its signature
// (symbolic dims as 1; at most 1 MiB in all) and a run on the reference kernels.
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

#include "dlc/runtime.h"
#include "dlc_kernels_reference.h"
#include "fuzz/harness.h"
#include "runtime/src/file_header.h"

namespace {

// Bytes of `count` elements of ONNX dtype `code`; 0 for types an input cannot have.
size_t storageBytes(int32_t code, uint64_t count) {
  switch (code) {
    case DLC_DTYPE_U8: case DLC_DTYPE_I8: case DLC_DTYPE_BOOL: return count;
    case DLC_DTYPE_U16: case DLC_DTYPE_I16: case DLC_DTYPE_F16: case DLC_DTYPE_BF16: return 2 * count;
    case DLC_DTYPE_F32: case DLC_DTYPE_I32: case DLC_DTYPE_U32: return 4 * count;
    case DLC_DTYPE_F64: case DLC_DTYPE_I64: case DLC_DTYPE_U64: return 8 * count;
    case DLC_DTYPE_U4: case DLC_DTYPE_I4: return (count + 1) / 2;
    default: return 0;
  }
}

void expectMessage(dlc_status s, const char* where) {
  dlc::fuzz::checkMessage(dlc_status_message(s), where);
  dlc_status_free(s);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const bool registered = dlc_kernels_reference_register() == nullptr;
  if (!registered) dlc::fuzz::finding("registering the reference kernels failed");
  dlc::rt::FileHeader header = dlc::rt::headerFor(data, size);
  std::vector<uint8_t> file(sizeof header + size);
  std::memcpy(file.data(), &header, sizeof header);
  if (size) std::memcpy(file.data() + sizeof header, data, size);

  dlc_model* model = nullptr;
  if (dlc_status s = dlc_model_load_memory(file.data(), file.size(), nullptr, &model)) {
    expectMessage(s, "dlc_model_load_memory");
    return 0;
  }
  // An artifact may declare any arena size; the runtime allocates it or says it cannot. Past
  // 256 MiB the harness stops there, so that libFuzzer's allocation limit stays a finding.
  dlc_model_stats stats;
  dlc_model_stats_get(model, &stats);
  if (stats.arena_bytes > (uint64_t{256} << 20)) {
    dlc_model_free(model);
    return 0;
  }
  dlc_session* session = nullptr;
  if (dlc_status s = dlc_session_create(model, nullptr, &session)) {
    expectMessage(s, "dlc_session_create");
    dlc_model_free(model);
    return 0;
  }
  std::vector<bool> is_state(dlc_model_input_count(model), false);
  for (size_t k = 0; k < dlc_model_state_count(model); ++k) {
    size_t in = 0, out = 0;
    if (!dlc_model_state_binding(model, k, &in, &out) && in < is_state.size()) is_state[in] = true;
  }
  std::vector<std::vector<uint8_t>> buffers;
  std::vector<std::vector<int64_t>> shapes;
  size_t total = 0;
  bool runnable = true;
  for (size_t i = 0; i < dlc_model_input_count(model) && runnable; ++i) {
    if (is_state[i]) continue;
    dlc_tensor_info info;
    if (dlc_status s = dlc_model_input_info(model, i, &info)) {
      expectMessage(s, "dlc_model_input_info");
      runnable = false;
      break;
    }
    std::vector<int64_t> shape;
    uint64_t count = 1;
    for (int32_t d = 0; d < info.rank && runnable; ++d) {
      int64_t v = info.dims[d] < 0 ? 1 : info.dims[d];
      shape.push_back(v);
      if (v > (1 << 20) || (count *= static_cast<uint64_t>(v)) > (1 << 20)) runnable = false;
    }
    size_t bytes = storageBytes(info.dtype, count);
    if (info.rank < 0 || (bytes == 0 && count != 0) || (total += bytes) > (1 << 20)) runnable = false;
    if (!runnable) break;
    shapes.push_back(shape);
    buffers.emplace_back(bytes ? bytes : 1, 0);
    dlc_tensor t{info.dtype, info.rank, shapes.back().data(), buffers.back().data(), bytes};
    if (dlc_status s = dlc_session_input_bind(session, i, &t)) {
      expectMessage(s, "dlc_session_input_bind");
      runnable = false;
    }
  }
  if (runnable) {
    if (dlc_status s = dlc_session_run(session)) expectMessage(s, "dlc_session_run");
    else
      for (size_t o = 0; o < dlc_model_output_count(model); ++o) {
        dlc_tensor out;
        if (dlc_status s = dlc_session_output_get(session, o, &out)) expectMessage(s, "dlc_session_output_get");
      }
  }
  dlc_session_free(session);
  dlc_model_free(model);
  return 0;
}
