// What a cpu segment's code reads at run time. A segment whose types are all static has every
// size in its code. A segment with symbolic dims (a batch, a sequence length, an image size) has
// code that reads its sizes from a table the runtime library computes once per distinct run shape
// (after re-inferring the segment's types from the bound inputs):
//
//   int64 [0]        bytes of the intermediates
//   int64 [1 .. V]   workspace offset of each intermediate (planIntermediates' order)
//   blocks           the ops' parameter blocks in op order (planOpBlocks), each 8-byte aligned
//
// The code was generated for a given sequence of blocks and decisions (a signature): a run shape
// that changes it (a broadcast that a dim of 1 turns on) is an error, never a silent misread.
#pragma once

#include <cstdint>
#include <set>
#include <unordered_map>
#include <vector>

#include "backends/llvm_cpu/plan/kernel_params.h"

namespace dlc::llvm_cpu {

struct PlanBlocks {
  std::vector<uint8_t> bytes;
  std::vector<size_t> offsets;     // of each block in `bytes`
  std::vector<int64_t> signature;  // each block's size, and the decisions the code was emitted for

  size_t add(const void* data, size_t size);  // returns the block's index
  template <typename T>
  size_t add(const T& v) {
    return add(&v, sizeof v);
  }
  void decide(int64_t word) { signature.push_back(word); }
  template <typename T>
  const T& at(size_t block) const {
    return *reinterpret_cast<const T*>(bytes.data() + offsets[block]);
  }
};

// Intermediates of a segment (values neither its inputs nor its outputs) in the workspace: each
// for its live range (definition to last use, views extending their root's), first fit.
struct MemoryPlan {
  std::vector<const Value*> intermediates;  // in definition order
  std::vector<int64_t> offsets;             // of each intermediate
  std::unordered_map<const Value*, const Value*> alias_of;  // view results -> the value they share
  int64_t bytes = 0;
};
MemoryPlan planIntermediates(const std::vector<const Op*>& ops, const std::set<const Value*>& outputs);

// The parameter blocks of one op of a segment with symbolic dims (an error for an op kind that has
// none; the Lowering table's emit_symbolic says which ops have such code): `declared` as compiled (its
// types may be symbolic; decisions come from them), `sized` the same op with static types.
Status planOpBlocks(const Op& declared, const Op& sized, const IsWeight& weight, PlanBlocks& blocks);

// An elementwise op's loop over its output viewed as rows of the innermost dim, as int64s:
//   rows, inner, jobs, outer dims, then per operand: outer strides, inner stride
// (R = the output's rank, at least 1). Absent operands have all strides 0.
struct ElementwiseLayout {
  size_t rank;  // R
  size_t size(size_t operands) const { return 3 + (rank - 1) + operands * rank; }
  size_t dim(size_t d) const { return 3 + d; }
  size_t stride(size_t operand, size_t d) const { return 3 + (rank - 1) + operand * rank + d; }
};
// Each operand's inner stride as compiled, from the declared types: 0 (broadcast along the row: its
// last dim is a static 1) or 1 (read from the table: 1, or 0 where a run's size of 1 broadcasts).
Expected<std::vector<int64_t>> elementwiseInnerStrides(const Op& declared);

// The whole table of one run shape: `declared` and `sized` the segment's ops (same order).
struct SegmentTable {
  std::vector<uint8_t> bytes;
  std::vector<int64_t> signature;
  MemoryPlan memory;
};
Expected<SegmentTable> planSegmentTable(const std::vector<const Op*>& declared, const std::vector<const Op*>& sized,
                                        const std::set<const Value*>& sized_outputs, const IsWeight& weight);
inline size_t tableHeaderBytes(const MemoryPlan& memory) { return 8 * (1 + memory.intermediates.size()); }

}  // namespace dlc::llvm_cpu
