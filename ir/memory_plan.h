// The result of memory planning: where each intermediate tensor lives in one arena.
#pragma once

#include <cstdint>
#include <unordered_map>
#include <vector>

namespace dlc {

class Value;

struct MemoryPlan {
  struct Slot {
    int64_t offset = 0;  // bytes from the arena start, 64-byte aligned
    int64_t size = 0;    // bytes reserved (the tensor's size rounded up to 64)
    int first = 0;       // index of the op defining the value (its live range start)
    int last = 0;        // index of the last op reading it (after in-place extension)
    const Value* shares_with = nullptr;  // in-place: the input whose buffer it reuses
  };

  static constexpr int64_t kAlignment = 64;

  int64_t arena_bytes = 0;         // size of the arena holding every planned intermediate
  int64_t intermediate_bytes = 0;  // sum of the planned intermediates' sizes (no reuse)
  int64_t weights_bytes = 0;       // constants, kept outside the arena
  int in_place = 0;                // values that reuse an input's buffer
  std::unordered_map<const Value*, Slot> slots;
  // Intermediates without a static size (data-dependent or symbolic dims), allocated at run time.
  std::vector<const Value*> dynamic_values;
};

}  // namespace dlc
