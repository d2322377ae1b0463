// Internals shared by the runtime's files: the loaded model, status helpers, allocator wrappers.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "dlc/kernel_library.h"
#include "dlc/runtime.h"

namespace dlc::fb {
struct Model;
}

namespace dlc::rt {

dlc_status makeStatus(dlc_status_code code, std::string message);

// A printf-style message, for building status texts without iostreams (the core stays small).
std::string format(const char* fmt, ...) __attribute__((format(printf, 1, 2)));

const dlc_allocator& defaultAllocator();

// Bytes of `count` elements of `dtype`; 0 with ok=false for an unknown or non-numeric dtype.
uint64_t dtypeBytes(int32_t dtype, uint64_t count, bool* ok);

enum class Storage : uint8_t { Input, Weight, Arena, Dynamic };

struct ValueRecord {
  std::string name;
  int32_t dtype = 0;
  int32_t rank = -1;  // -1 unranked
  std::vector<int64_t> dims;  // -1 symbolic or unknown
  std::vector<std::string> dim_names;
  std::vector<const char*> dim_name_ptrs;
  bool static_shape = false;
  uint64_t static_bytes = 0;
  Storage storage = Storage::Dynamic;
  const uint8_t* weight = nullptr;  // Storage::Weight
  uint64_t arena_offset = 0, arena_size = 0;
  dlc_tensor_info info() const;
};

struct StepRecord {
  const dlc_kernel_library* library = nullptr;
  void* state = nullptr;
  std::string kernel, location;
  std::vector<int32_t> inputs, outputs;  // value indices, -1 = absent
  std::string describe(size_t index) const;  // "step 3 (Conv 'conv1', library reference)"
};

// A training state: signature input `input` takes signature output `output`'s value after each run.
struct StateRecord {
  size_t input = 0, output = 0;
  const uint8_t* initial = nullptr;  // in the weights section
  uint64_t bytes = 0;
};

}  // namespace dlc::rt

struct dlc_model_t {
  dlc_allocator allocator{};
  void* mapping = nullptr;  // mmap'ed file, or
  size_t mapping_size = 0;
  void* copy = nullptr;     // a copy of caller memory made with `allocator`
  const dlc::fb::Model* fb = nullptr;
  uint32_t format_version = 0;
  std::string name, target, producer;
  std::vector<std::string> cpu_features;
  std::vector<dlc::rt::ValueRecord> values;
  std::vector<int32_t> inputs, outputs;
  std::vector<dlc_tensor_info> input_infos, output_infos;
  std::vector<dlc::rt::StepRecord> steps;
  std::vector<dlc::rt::StateRecord> states;
  std::vector<char> input_is_state;  // per signature input
  uint64_t arena_bytes = 0, weight_bytes = 0;
  size_t weight_count = 0, native_code_bytes = 0;
  // Weights stored encoded (Bitmap), decoded at load with `allocator`; by weight index, null
  // until decoded, and the buffers to free.
  std::vector<const uint8_t*> weight_data;
  std::vector<void*> decoded_weights;
  ~dlc_model_t();
};

namespace dlc::rt {
// Fills `model` from its verified FlatBuffer (file_header.h checks come first): every index,
// offset and size checked, kernel libraries looked up and steps prepared.
dlc_status buildModel(dlc_model_t& model, const uint8_t* body, size_t size);
// True when this CPU has the named feature; *known=false for a name the runtime does not know.
bool cpuHasFeature(const std::string& name, bool* known);
}  // namespace dlc::rt
