// A segment's entry points: memory planning of its intermediates (views share their operand's
// memory), weight packing at load, per-thread scratch, and the ops' code in program order.
#include "backends/llvm_cpu/compile/emitter.h"

#include <algorithm>
#include <cstddef>
#include <set>

#include "backends/backend.h"
#include "backends/llvm_cpu/kernels/kernels.h"
#include "ir/dtype.h"

namespace dlc::llvm_cpu {

namespace {
constexpr int64_t kAlign = 64;
int64_t alignBytes(int64_t n) { return (n + kAlign - 1) / kAlign * kAlign; }
}  // namespace

SegmentEmitter::SegmentEmitter(llvm::Module& module, const CpuTarget& target, std::string prefix, const SymbolicSegment* symbolic)
    : module_(module), target_(target), prefix_(std::move(prefix)), builder_(module.getContext()), entry_(module.getContext()),
      symbolic_(symbolic) {}

llvm::Value* OpBlocks::ptr(size_t i) const { return e_.tableBlock(first_ + i); }

llvm::Value* OpBlocks::loadInt(size_t i, size_t word) const {
  auto& b = e_.b();
  return b.CreateLoad(b.getInt64Ty(), b.CreateConstGEP1_64(b.getInt64Ty(), ptr(i), static_cast<int64_t>(word)));
}

llvm::Value* SegmentEmitter::tableBlock(size_t block) {
  return entry_.CreateConstGEP1_64(entry_.getInt8Ty(), table_, table_header_ + static_cast<int64_t>(blocks_.offsets.at(block)));
}

llvm::Function* SegmentEmitter::kernel(const char* name) {
  if (llvm::Function* f = module_.getFunction(name)) return f;
  missing_kernels_.insert(name);
  auto* type = llvm::FunctionType::get(builder_.getVoidTy(), true);
  return llvm::Function::Create(type, llvm::Function::ExternalLinkage, name, module_);
}

llvm::Constant* SegmentEmitter::params(const void* bytes, size_t size) {
  auto* data = llvm::ConstantDataArray::get(context(), llvm::ArrayRef<uint8_t>(static_cast<const uint8_t*>(bytes), size));
  auto* gv = new llvm::GlobalVariable(module_, data->getType(), true, llvm::GlobalValue::PrivateLinkage, data, prefix_ + ".params");
  gv->setAlignment(llvm::Align(8));
  gv->setUnnamedAddr(llvm::GlobalValue::UnnamedAddr::Global);
  return gv;
}

llvm::Value* SegmentEmitter::alignUp(llvm::IRBuilder<>& b, llvm::Value* v) {
  return b.CreateAnd(b.CreateAdd(v, b.getInt64(kAlign - 1)), b.getInt64(~static_cast<uint64_t>(kAlign - 1)));
}

llvm::Value* SegmentEmitter::packedWeight(const char* size_fn, const char* pack_fn, llvm::Constant* p, const Value* weight) {
  Packing packing{kernel(size_fn), kernel(pack_fn), p, input_index_.at(weight), packed_end_};
  packings_.push_back(packing);
  llvm::Value* size = entry_.CreateCall(packing.size_fn, {p});
  packed_end_ = alignUp(entry_, entry_.CreateAdd(packed_end_, size));
  return entry_.CreateGEP(entry_.getInt8Ty(), packed_, packing.offset);
}

llvm::Value* SegmentEmitter::scratch(const char* scratch_fn, llvm::Constant* p) {
  scratch_uses_.push_back({kernel(scratch_fn), p});
  return builder_.CreateGEP(builder_.getInt8Ty(), workspace_, builder_.getInt64(intermediate_bytes_));
}

llvm::Value* SegmentEmitter::scratchFromTable(const char* scratch_fn, size_t block) {
  scratch_uses_.push_back({kernel(scratch_fn), nullptr, block});
  llvm::Value* intermediates = builder_.CreateLoad(builder_.getInt64Ty(), table_);
  return builder_.CreateGEP(builder_.getInt8Ty(), workspace_, alignUp(builder_, intermediates));
}

llvm::Value* SegmentEmitter::jobsUpTo(llvm::Value* limit) {
  llvm::Value* threads = builder_.CreateLoad(builder_.getInt32Ty(), builder_.CreateConstGEP1_64(builder_.getInt8Ty(), call_, offsetof(dlc_cpu_call, threads)));
  llvm::Value* t = builder_.CreateSExt(threads, builder_.getInt64Ty());
  t = builder_.CreateSelect(builder_.CreateICmpSLT(t, builder_.getInt64(1)), builder_.getInt64(1), t);
  limit = builder_.CreateSelect(builder_.CreateICmpSLT(limit, builder_.getInt64(1)), builder_.getInt64(1), limit);
  return builder_.CreateSelect(builder_.CreateICmpSLT(t, limit), t, limit);
}

llvm::Value* SegmentEmitter::jobsUpTo(int64_t limit) {
  llvm::Value* threads = builder_.CreateLoad(builder_.getInt32Ty(), builder_.CreateConstGEP1_64(builder_.getInt8Ty(), call_, offsetof(dlc_cpu_call, threads)));
  llvm::Value* t = builder_.CreateSExt(threads, builder_.getInt64Ty());
  t = builder_.CreateSelect(builder_.CreateICmpSLT(t, builder_.getInt64(1)), builder_.getInt64(1), t);
  return builder_.CreateSelect(builder_.CreateICmpSLT(t, builder_.getInt64(limit)), t, builder_.getInt64(std::max<int64_t>(1, limit)));
}

void SegmentEmitter::parallelFor(llvm::Function* fn, llvm::Value* ctx, llvm::Value* jobs) {
  auto* ptr_ty = builder_.getPtrTy();
  llvm::Value* pf = builder_.CreateLoad(ptr_ty, builder_.CreateConstGEP1_64(builder_.getInt8Ty(), call_, offsetof(dlc_cpu_call, parallel_for)));
  llvm::Value* rt = builder_.CreateLoad(ptr_ty, builder_.CreateConstGEP1_64(builder_.getInt8Ty(), call_, offsetof(dlc_cpu_call, runtime)));
  auto* type = llvm::FunctionType::get(builder_.getVoidTy(), {ptr_ty, builder_.getInt64Ty(), ptr_ty, ptr_ty}, false);
  builder_.CreateCall(type, pf, {rt, jobs, fn, ctx});
}

void SegmentEmitter::memcpy(llvm::Value* dst, llvm::Value* src, int64_t bytes) {
  if (bytes > 0) builder_.CreateMemCpy(dst, llvm::MaybeAlign(4), src, llvm::MaybeAlign(4), builder_.getInt64(bytes));
}

llvm::Function* SegmentEmitter::helper(const std::string& stem, llvm::FunctionType* type) {
  return llvm::Function::Create(type, llvm::Function::InternalLinkage, str(prefix_, "_", stem, helpers_++), module_);
}

llvm::Value* SegmentEmitter::ptr(const Value* v) {
  auto alias = alias_of_.find(v);
  if (alias != alias_of_.end()) return ptr(alias->second);
  auto it = pointers_.find(v);
  if (it != pointers_.end()) return it->second;
  llvm::Value* p = nullptr;
  auto* ptr_ty = entry_.getPtrTy();
  if (auto in = input_index_.find(v); in != input_index_.end()) {
    p = entry_.CreateLoad(ptr_ty, entry_.CreateConstGEP1_64(ptr_ty, args_, in->second));
  } else if (auto out = output_index_.find(v); out != output_index_.end()) {
    p = entry_.CreateLoad(ptr_ty, entry_.CreateConstGEP1_64(ptr_ty, args_, static_cast<int64_t>(inputs_.size()) + out->second));
  } else if (symbolic_) {
    llvm::Value* slot = entry_.CreateConstGEP1_64(entry_.getInt64Ty(), table_, 1 + static_cast<int64_t>(intermediate_index_.at(v)));
    p = entry_.CreateGEP(entry_.getInt8Ty(), workspace_, entry_.CreateLoad(entry_.getInt64Ty(), slot));
  } else {
    p = entry_.CreateGEP(entry_.getInt8Ty(), workspace_, entry_.getInt64(offset_.at(v)));
  }
  pointers_[v] = p;
  return p;
}

// Intermediates (planIntermediates): at their static sizes, or, for a symbolic segment, by slot of
// the run table (planned per run shape by the runtime library, in the same order).
Status SegmentEmitter::planMemory(const std::vector<const Op*>& ops) {
  std::set<const Value*> outputs(outputs_.begin(), outputs_.end());
  if (!symbolic_) {
    MemoryPlan plan = planIntermediates(ops, outputs);
    alias_of_.insert(plan.alias_of.begin(), plan.alias_of.end());
    for (size_t i = 0; i < plan.intermediates.size(); ++i) offset_[plan.intermediates[i]] = plan.offsets[i];
    intermediate_bytes_ = plan.bytes;
    return Status::success();
  }
  const std::vector<const Op*>& sized = symbolic_->sized;
  if (sized.size() != ops.size()) return Status::error("internal error: the trial segment does not match");
  std::unordered_map<const Value*, const Value*> declared;  // trial value -> compiled value
  for (size_t t = 0; t < ops.size(); ++t) {
    if (sized[t]->numResults() != ops[t]->numResults()) return Status::error("internal error: the trial segment does not match");
    for (int r = 0; r < ops[t]->numResults(); ++r) declared[sized[t]->result(r)] = ops[t]->result(r);
    for (int k = 0; k < ops[t]->numOperands(); ++k)
      if (ops[t]->operand(k)) declared[sized[t]->operand(k)] = ops[t]->operand(k);
  }
  MemoryPlan plan = planIntermediates(sized, symbolic_->sized_outputs);
  for (const auto& [view, root] : plan.alias_of) alias_of_[declared.at(view)] = declared.at(root);
  for (size_t i = 0; i < plan.intermediates.size(); ++i) intermediate_index_[declared.at(plan.intermediates[i])] = i;
  table_header_ = static_cast<int64_t>(tableHeaderBytes(plan));
  signature_ = {static_cast<int64_t>(plan.intermediates.size())};
  return Status::success();
}

// Each op's blocks at trial sizes (in the order the runtime library plans them), then its code
// reading them from the run table.
Status SegmentEmitter::emitSymbolicOps(const std::vector<const Op*>& ops) {
  const IsWeight weight = [](const Value* v) { return isConstantOp(v); };
  for (size_t t = 0; t < ops.size(); ++t) {
    const Op* op = ops[t];
    const Lowering* lowering = loweringFor(op->kind());
    if (!lowering || !lowering->emit_symbolic) return Status::error(str(where(*op), ": no code for symbolic sizes"));
    size_t first = blocks_.offsets.size();
    DLC_RETURN_IF_ERROR(planOpBlocks(*op, *symbolic_->sized[t], weight, blocks_));
    OpBlocks blocks(*this, blocks_, first);
    if (lowering->view) {  // a view that is an output is copied out (its block: the bytes)
      if (output_index_.count(op->result(0)))
        builder_.CreateMemCpy(ptr(op->result(0)), llvm::MaybeAlign(4), ptr(op->operand(0)), llvm::MaybeAlign(4), blocks.loadInt(0, 0));
      continue;
    }
    DLC_RETURN_IF_ERROR(lowering->emit_symbolic(*this, *op, blocks));
  }
  signature_.insert(signature_.end(), blocks_.signature.begin(), blocks_.signature.end());
  return Status::success();
}

Status SegmentEmitter::emit(const std::vector<const Op*>& ops) {
  inputs_ = backends::segmentInputs(ops);
  outputs_ = backends::segmentOutputs(ops);
  for (size_t i = 0; i < inputs_.size(); ++i) input_index_[inputs_[i]] = static_cast<int>(i);
  for (size_t i = 0; i < outputs_.size(); ++i) output_index_[outputs_[i]] = static_cast<int>(i);
  DLC_RETURN_IF_ERROR(planMemory(ops));

  llvm::LLVMContext& ctx = context();
  auto* ptr_ty = llvm::PointerType::get(ctx, 0);
  auto* run_type = llvm::FunctionType::get(llvm::Type::getVoidTy(ctx), {ptr_ty}, false);
  run_ = llvm::Function::Create(run_type, llvm::Function::ExternalLinkage, prefix_ + "_run", module_);
  auto* entry = llvm::BasicBlock::Create(ctx, "entry", run_);
  auto* body = llvm::BasicBlock::Create(ctx, "body", run_);
  entry_.SetInsertPoint(entry);
  call_ = run_->getArg(0);
  args_ = entry_.CreateLoad(ptr_ty, entry_.CreateConstGEP1_64(entry_.getInt8Ty(), call_, offsetof(dlc_cpu_call, args)));
  packed_ = entry_.CreateLoad(ptr_ty, entry_.CreateConstGEP1_64(entry_.getInt8Ty(), call_, offsetof(dlc_cpu_call, packed)));
  workspace_ = entry_.CreateLoad(ptr_ty, entry_.CreateConstGEP1_64(entry_.getInt8Ty(), call_, offsetof(dlc_cpu_call, workspace)));
  table_ = entry_.CreateLoad(ptr_ty, entry_.CreateConstGEP1_64(entry_.getInt8Ty(), call_, offsetof(dlc_cpu_call, table)));
  packed_end_ = entry_.getInt64(0);
  builder_.SetInsertPoint(body);

  if (symbolic_) DLC_RETURN_IF_ERROR(emitSymbolicOps(ops));
  for (const Op* op : symbolic_ ? std::vector<const Op*>{} : ops) {
    const Lowering* lowering = loweringFor(op->kind());
    if (!lowering) return Status::error(str(where(*op), ": the cpu target has no lowering for it"));
    if (lowering->view) {
      if (output_index_.count(op->result(0)))
        memcpy(ptr(op->result(0)), ptr(op->operand(0)),
               static_cast<int64_t>(dtypeStorageBytes(op->result(0)->type().dtype, numel(shapeOf(op->result(0))))));
      continue;
    }
    DLC_RETURN_IF_ERROR(lowering->emit(*this, *op));
  }
  builder_.CreateRetVoid();
  entry_.CreateBr(body);
  emitPack();
  emitSizes();
  if (!missing_kernels_.empty())
    return Status::error(str("the CPU kernel library lacks ", *missing_kernels_.begin(), " (a build problem)"));
  return Status::success();
}

void SegmentEmitter::emitPack() {
  llvm::LLVMContext& ctx = context();
  auto* ptr_ty = llvm::PointerType::get(ctx, 0);
  auto* type = llvm::FunctionType::get(llvm::Type::getVoidTy(ctx), {ptr_ty, ptr_ty}, false);
  auto* fn = llvm::Function::Create(type, llvm::Function::ExternalLinkage, prefix_ + "_pack", module_);
  llvm::IRBuilder<> b(llvm::BasicBlock::Create(ctx, "entry", fn));
  llvm::Value* offset = b.getInt64(0);
  for (const Packing& p : packings_) {
    llvm::Value* src = b.CreateLoad(ptr_ty, b.CreateConstGEP1_64(ptr_ty, fn->getArg(0), p.input));
    b.CreateCall(p.pack_fn, {p.params, src, b.CreateGEP(b.getInt8Ty(), fn->getArg(1), offset)});
    offset = alignUp(b, b.CreateAdd(offset, b.CreateCall(p.size_fn, {p.params})));
  }
  b.CreateRetVoid();
}

void SegmentEmitter::emitSizes() {
  llvm::LLVMContext& ctx = context();
  auto* i64 = llvm::Type::getInt64Ty(ctx);
  auto* packed_fn = llvm::Function::Create(llvm::FunctionType::get(i64, false), llvm::Function::ExternalLinkage,
                                           prefix_ + "_packed_bytes", module_);
  llvm::IRBuilder<> b(llvm::BasicBlock::Create(ctx, "entry", packed_fn));
  llvm::Value* total = b.getInt64(0);
  for (const Packing& p : packings_) total = alignUp(b, b.CreateAdd(total, b.CreateCall(p.size_fn, {p.params})));
  b.CreateRet(total);

  auto* ptr_ty = llvm::PointerType::get(ctx, 0);
  auto* ws_fn = llvm::Function::Create(llvm::FunctionType::get(i64, {llvm::Type::getInt32Ty(ctx), ptr_ty}, false),
                                       llvm::Function::ExternalLinkage, prefix_ + "_workspace_bytes", module_);
  llvm::IRBuilder<> w(llvm::BasicBlock::Create(ctx, "entry", ws_fn));
  llvm::Value* table = ws_fn->getArg(1);
  llvm::Value* per_thread = w.getInt64(0);
  for (const ScratchUse& s : scratch_uses_) {
    llvm::Value* params = s.params ? static_cast<llvm::Value*>(s.params)
                                   : w.CreateConstGEP1_64(w.getInt8Ty(), table, table_header_ + static_cast<int64_t>(blocks_.offsets.at(s.block)));
    llvm::Value* n = alignUp(w, w.CreateCall(s.size_fn, {params}));
    per_thread = w.CreateSelect(w.CreateICmpUGT(n, per_thread), n, per_thread);
  }
  llvm::Value* threads = w.CreateSExt(ws_fn->getArg(0), i64);
  threads = w.CreateSelect(w.CreateICmpSLT(threads, w.getInt64(1)), w.getInt64(1), threads);
  llvm::Value* intermediates = symbolic_ ? alignUp(w, w.CreateLoad(i64, table)) : w.getInt64(alignBytes(intermediate_bytes_));
  w.CreateRet(w.CreateAdd(intermediates, w.CreateMul(threads, per_thread)));
}

}  // namespace dlc::llvm_cpu
