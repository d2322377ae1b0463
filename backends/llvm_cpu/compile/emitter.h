// Emission of one segment (consecutive ops of the top-level region) as native entry points:
//   <prefix>_run(const dlc_cpu_call*)            the ops, in order, on planned workspace memory
//   <prefix>_pack(const void* const*, void*)     repacks the segment's weights once, at load
//   <prefix>_packed_bytes(), <prefix>_workspace_bytes(int32 threads, const void* table)
// Ops are lowered one by one (Lowering) to calls into the kernel library or loops built here.
// A segment with symbolic dims is emitted from its ops at trial sizes, its code reading every size
// from the run's table (plan/segment_plan.h) instead of constants.
#pragma once

#include <llvm/IR/IRBuilder.h>
#include <llvm/IR/Module.h>

#include <functional>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "backends/llvm_cpu/compile/target.h"
#include "backends/llvm_cpu/plan/kernel_params.h"
#include "backends/llvm_cpu/plan/segment_plan.h"
#include "ir/graph.h"
#include "ir/status.h"

namespace dlc::llvm_cpu {

class SegmentEmitter;

// An op's parameter blocks in the run table of a segment with symbolic dims: pointers to them in
// this run, and their values at the trial sizes (for what is fixed at load: weight packing).
class OpBlocks {
 public:
  OpBlocks(SegmentEmitter& e, const PlanBlocks& plan, size_t first) : e_(e), plan_(plan), first_(first) {}
  llvm::Value* ptr(size_t i) const;
  size_t index(size_t i) const { return first_ + i; }
  template <typename T>
  const T& trial(size_t i) const {
    return plan_.at<T>(first_ + i);
  }
  // The int64 at `word` of block i, in this run.
  llvm::Value* loadInt(size_t i, size_t word) const;

 private:
  SegmentEmitter& e_;
  const PlanBlocks& plan_;
  size_t first_;
};

// How one op kind becomes code. `check` says why an op cannot be lowered (unsupported attribute,
// dtype, shape); `emit` writes it at the emitter's insertion point; `emit_symbolic` (where there is
// one) writes it reading its sizes from the run table (the op as compiled; its blocks at trial
// sizes). A view's result shares its first operand's memory (Reshape, Flatten, ...).
struct Lowering {
  Status (*check)(const Op& op);
  Status (*emit)(SegmentEmitter& e, const Op& op);
  bool view = false;
  Status (*emit_symbolic)(SegmentEmitter& e, const Op& op, const OpBlocks& blocks) = nullptr;
};
const Lowering* loweringFor(OpKind kind);
// Elementwise ops and FusedElementwise regions (lower_elementwise.cc).
Status checkElementwise(const Op& op);
Status emitElementwise(SegmentEmitter& e, const Op& op);
Status emitElementwiseSymbolic(SegmentEmitter& e, const Op& op, const OpBlocks& blocks);

// A segment with symbolic dims: its ops at trial sizes (parallel to the compiled ones) and which of
// their results are the segment's outputs.
struct SymbolicSegment {
  std::vector<const Op*> sized;
  std::set<const Value*> sized_outputs;
};

class SegmentEmitter {
 public:
  // `symbolic`: set for a segment with symbolic dims (it must outlive the emitter).
  SegmentEmitter(llvm::Module& module, const CpuTarget& target, std::string prefix, const SymbolicSegment* symbolic = nullptr);

  // Emits the four entry points for `ops` (all of whose lowerings checked out).
  Status emit(const std::vector<const Op*>& ops);
  // The segment's plan signature (symbolic segments): what the run table must match.
  const std::vector<int64_t>& signature() const { return signature_; }

  // --- for lowerings ---
  llvm::IRBuilder<>& b() { return builder_; }
  llvm::LLVMContext& context() { return module_.getContext(); }
  llvm::Module& module() { return module_; }
  const CpuTarget& target() const { return target_; }
  llvm::Value* ptr(const Value* v);  // where v's data is in this run
  llvm::Value* call() { return call_; }
  // A kernel library function by name (declared in kernels/kernels.h; linked in before emission).
  llvm::Function* kernel(const char* name);
  // A constant parameter struct, passed to kernels by pointer.
  llvm::Constant* params(const void* bytes, size_t size);
  template <typename T>
  llvm::Constant* params(const T& p) {
    return params(&p, sizeof p);
  }
  // Registers the repacking of weight `weight` (a segment input) by pack_fn(params, src, dst) into
  // size_fn(params) bytes at load; returns where the packed copy is in this run.
  llvm::Value* packedWeight(const char* size_fn, const char* pack_fn, llvm::Constant* params, const Value* weight);
  // Per-thread scratch for a kernel that needs scratch_fn(params) bytes per thread.
  llvm::Value* scratch(const char* scratch_fn, llvm::Constant* params);
  // The same with the params in the run table (block `block` of a symbolic segment).
  llvm::Value* scratchFromTable(const char* scratch_fn, size_t block);
  // Calls fn(ctx, i) for i in [0, jobs) on the session's threads (jobs >= 1 at run time).
  void parallelFor(llvm::Function* fn, llvm::Value* ctx, llvm::Value* jobs);
  // min(threads, limit) as i64: how many equal jobs a kernel of `limit` independent parts gets.
  llvm::Value* jobsUpTo(int64_t limit);
  llvm::Value* jobsUpTo(llvm::Value* limit);
  // Where block `block` of the run table is (symbolic segments).
  llvm::Value* tableBlock(size_t block);
  void memcpy(llvm::Value* dst, llvm::Value* src, int64_t bytes);
  // A fresh internal function in the module, named after the segment.
  llvm::Function* helper(const std::string& stem, llvm::FunctionType* type);

 private:
  struct Packing {
    llvm::Function* size_fn;
    llvm::Function* pack_fn;
    llvm::Constant* params;
    int input;
    llvm::Value* offset;  // in the run function's entry block
  };
  struct ScratchUse {
    llvm::Function* size_fn;
    llvm::Constant* params;  // null: the params are table block `block`
    size_t block = 0;
  };
  Status planMemory(const std::vector<const Op*>& ops);
  Status emitSymbolicOps(const std::vector<const Op*>& ops);
  void emitPack();
  void emitSizes();
  llvm::Value* alignUp(llvm::IRBuilder<>& b, llvm::Value* v);

  llvm::Module& module_;
  const CpuTarget& target_;
  std::string prefix_;
  llvm::IRBuilder<> builder_;
  llvm::IRBuilder<> entry_;  // the run function's entry block, before its branch to the body
  llvm::Function* run_ = nullptr;
  llvm::Value* call_ = nullptr;
  llvm::Value* args_ = nullptr;
  llvm::Value* packed_ = nullptr;
  llvm::Value* workspace_ = nullptr;
  llvm::Value* table_ = nullptr;
  const SymbolicSegment* symbolic_ = nullptr;
  PlanBlocks blocks_;               // symbolic: the ops' blocks at trial sizes
  int64_t table_header_ = 0;        // symbolic: bytes before the blocks
  std::vector<int64_t> signature_;  // symbolic
  std::map<const Value*, size_t> intermediate_index_;  // symbolic: slot of the offset in the table
  llvm::Value* packed_end_ = nullptr;
  std::vector<const Value*> inputs_, outputs_;
  std::map<const Value*, int> input_index_, output_index_;
  std::map<const Value*, int64_t> offset_;        // intermediates in the workspace
  std::map<const Value*, const Value*> alias_of_;  // view results -> the value whose memory they share
  std::map<const Value*, llvm::Value*> pointers_;
  int64_t intermediate_bytes_ = 0;
  std::vector<Packing> packings_;
  std::vector<ScratchUse> scratch_uses_;
  int helpers_ = 0;
  std::set<std::string> missing_kernels_;
};

}  // namespace dlc::llvm_cpu
