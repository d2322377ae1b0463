// Elementwise ops and FusedElementwise regions as loops built with IRBuilder: the output is
// walked as rows of its innermost (collapsed) dimension, each operand read with its broadcast
// strides, the body computed per element in scalar IR that LLVM's loop vectorizer widens for the
// target (transcendentals come from the kernel library's branch-free, always-inlined math).
// Rows are split over the session's threads.
#include <cmath>
#include <functional>
#include <map>

#include "backends/llvm_cpu/compile/emitter.h"
#include "ir/constant_value.h"

namespace dlc::llvm_cpu {
namespace {

using Builder = llvm::IRBuilder<>;

// The ops ScalarEmitter::emit handles (dlc_cpu_tests' Elementwise and BinaryWithBroadcasting
// cases run every one of them, so the two lists cannot drift apart unnoticed).
bool isScalarKind(OpKind k) {
  switch (k) {
    case OpKind::Add: case OpKind::Sub: case OpKind::Mul: case OpKind::Div: case OpKind::Neg: case OpKind::Abs:
    case OpKind::Relu: case OpKind::LeakyRelu: case OpKind::Sigmoid: case OpKind::Tanh: case OpKind::Exp:
    case OpKind::Log: case OpKind::Sqrt: case OpKind::Reciprocal: case OpKind::Erf: case OpKind::Gelu:
    case OpKind::Max: case OpKind::Min: case OpKind::Sum: case OpKind::Mean: case OpKind::Clip:
    case OpKind::HardSigmoid: case OpKind::HardSwish: case OpKind::Elu: case OpKind::Selu: case OpKind::Celu:
    case OpKind::Softplus: case OpKind::PRelu: case OpKind::Floor: case OpKind::Ceil: case OpKind::Identity:
    case OpKind::Pow:
      return true;
    default:
      return false;
  }
}

// The constant scalar value of `v`, when it is one.
std::optional<float> constantScalar(const Value* v) {
  if (!v || !v->definingOp() || v->definingOp()->kind() != OpKind::Constant) return std::nullopt;
  auto t = constantOpValue(*v->definingOp());
  if (!t.ok() || t->dtype() != DType::F32 || t->numel() != 1) return std::nullopt;
  return t->data<float>()[0];
}

Status checkScalarOp(const Op& op) {
  if (!isScalarKind(op.kind())) return Status::error(str(where(op), ": no scalar lowering"));
  if (op.kind() == OpKind::Gelu) {
    std::string mode = op.getString("approximate", "none");
    if (mode != "none" && mode != "tanh") return Status::error(str(where(op), ": approximate=", mode));
  }
  if (op.kind() == OpKind::Pow) {
    auto e = constantScalar(op.operand(1));
    if (!e || (*e != 1.0f && *e != 2.0f && *e != 3.0f && *e != 0.5f && *e != -1.0f))
      return Status::error(str(where(op), ": Pow with an exponent other than a constant 1, 2, 3, 0.5 or -1"));
  }
  return Status::success();
}

bool staticF32(const Value* v) {
  return v && v->type().isTensor() && v->type().dtype == DType::F32 && v->type().shape.isStatic();
}

// True when `s` broadcasts to `out` (right-aligned, dims equal or 1).
bool broadcastsTo(const std::vector<int64_t>& s, const std::vector<int64_t>& out) {
  if (s.size() > out.size()) return false;
  for (size_t i = 0; i < s.size(); ++i) {
    int64_t d = s[s.size() - 1 - i], o = out[out.size() - 1 - i];
    if (d != 1 && d != o) return false;
  }
  return true;
}

class ScalarEmitter {
 public:
  ScalarEmitter(SegmentEmitter& e, Builder& b) : e_(e), b_(b) {}

  llvm::Value* f(double v) { return llvm::ConstantFP::get(b_.getFloatTy(), v); }
  llvm::Value* lib(const char* name, llvm::Value* x) { return b_.CreateCall(e_.kernel(name), {x}); }
  llvm::Value* intrinsic(llvm::Intrinsic::ID id, llvm::Value* x) { return b_.CreateUnaryIntrinsic(id, x); }
  llvm::Value* lt(llvm::Value* a, llvm::Value* c) { return b_.CreateFCmpOLT(a, c); }
  llvm::Value* sel(llvm::Value* c, llvm::Value* a, llvm::Value* d) { return b_.CreateSelect(c, a, d); }
  // std::max(x, lo) / std::min(x, hi) as the reference computes them (NaN in x passes through).
  llvm::Value* stdMax(llvm::Value* x, llvm::Value* lo) { return sel(lt(x, lo), lo, x); }
  llvm::Value* stdMin(llvm::Value* x, llvm::Value* hi) { return sel(lt(hi, x), hi, x); }

  Expected<llvm::Value*> emit(const Op& op, const std::vector<llvm::Value*>& in) {
    auto x = in.empty() ? nullptr : in[0];
    const float alpha = op.getFloat("alpha", 0.0f);
    switch (op.kind()) {
      case OpKind::Add: return b_.CreateFAdd(in[0], in[1]);
      case OpKind::Sub: return b_.CreateFSub(in[0], in[1]);
      case OpKind::Mul: return b_.CreateFMul(in[0], in[1]);
      case OpKind::Div: return b_.CreateFDiv(in[0], in[1]);
      case OpKind::Neg: return b_.CreateFNeg(x);
      case OpKind::Abs: return intrinsic(llvm::Intrinsic::fabs, x);
      case OpKind::Identity: return x;
      case OpKind::Relu: return sel(b_.CreateFCmpOLE(x, f(0)), f(0), x);
      case OpKind::LeakyRelu: return sel(lt(x, f(0)), b_.CreateFMul(f(alpha), x), x);
      case OpKind::PRelu: return sel(lt(x, f(0)), b_.CreateFMul(in[1], x), x);
      case OpKind::Sigmoid: return lib("dlc_k_sigmoidf", x);
      case OpKind::Tanh: return lib("dlc_k_tanhf", x);
      case OpKind::Exp: return lib("dlc_k_expf", x);
      case OpKind::Log: return lib("dlc_k_logf", x);
      case OpKind::Erf: return lib("dlc_k_erff", x);
      case OpKind::Sqrt: return intrinsic(llvm::Intrinsic::sqrt, x);
      case OpKind::Reciprocal: return b_.CreateFDiv(f(1), x);
      case OpKind::Floor: return intrinsic(llvm::Intrinsic::floor, x);
      case OpKind::Ceil: return intrinsic(llvm::Intrinsic::ceil, x);
      case OpKind::Gelu: {
        if (op.getString("approximate", "none") == "tanh") {
          llvm::Value* inner = b_.CreateFMul(f(0.79788456080286535588),
                                             b_.CreateFAdd(x, b_.CreateFMul(f(0.044715), b_.CreateFMul(x, b_.CreateFMul(x, x)))));
          return b_.CreateFMul(b_.CreateFMul(f(0.5), x), b_.CreateFAdd(f(1), lib("dlc_k_tanhf", inner)));
        }
        llvm::Value* erf = lib("dlc_k_erff", b_.CreateFMul(x, f(0.70710678118654752440)));
        return b_.CreateFMul(b_.CreateFMul(f(0.5), x), b_.CreateFAdd(f(1), erf));
      }
      case OpKind::Max:
      case OpKind::Min: {
        llvm::Value* acc = in[0];
        for (size_t i = 1; i < in.size(); ++i)
          acc = b_.CreateBinaryIntrinsic(op.kind() == OpKind::Max ? llvm::Intrinsic::maximum : llvm::Intrinsic::minimum, acc, in[i]);
        return acc;
      }
      case OpKind::Sum:
      case OpKind::Mean: {
        llvm::Value* acc = in[0];
        for (size_t i = 1; i < in.size(); ++i) acc = b_.CreateFAdd(acc, in[i]);
        return op.kind() == OpKind::Mean ? b_.CreateFDiv(acc, f(static_cast<double>(in.size()))) : acc;
      }
      case OpKind::Clip: {
        llvm::Value* y = x;
        if (in.size() > 1 && in[1]) y = stdMax(y, in[1]);
        if (in.size() > 2 && in[2]) y = stdMin(y, in[2]);
        return y;
      }
      case OpKind::HardSigmoid:
        return stdMax(stdMin(b_.CreateFAdd(b_.CreateFMul(f(op.getFloat("alpha", 0.2f)), x), f(op.getFloat("beta", 0.5f))), f(1)), f(0));
      case OpKind::HardSwish:
        return b_.CreateFMul(x, stdMax(stdMin(b_.CreateFAdd(b_.CreateFMul(f(1.0 / 6.0), x), f(0.5)), f(1)), f(0)));
      case OpKind::Elu: {
        llvm::Value* em1 = b_.CreateFSub(lib("dlc_k_expf", x), f(1));
        return sel(lt(x, f(0)), b_.CreateFMul(f(op.getFloat("alpha", 1.0f)), em1), x);
      }
      case OpKind::Celu: {
        float a = op.getFloat("alpha", 1.0f);
        llvm::Value* neg = b_.CreateFMul(f(a), b_.CreateFSub(lib("dlc_k_expf", b_.CreateFDiv(x, f(a))), f(1)));
        return b_.CreateFAdd(stdMax(x, f(0)), stdMin(neg, f(0)));
      }
      case OpKind::Selu: {
        float a = op.getFloat("alpha", 1.67326319217681884765625f), g = op.getFloat("gamma", 1.05070102214813232421875f);
        llvm::Value* neg = b_.CreateFSub(b_.CreateFMul(f(a), lib("dlc_k_expf", x)), f(a));
        return b_.CreateFMul(f(g), sel(b_.CreateFCmpOGT(x, f(0)), x, neg));
      }
      case OpKind::Softplus: {  // max(x, 0) + log(1 + e^-|x|)
        llvm::Value* e = lib("dlc_k_expf", b_.CreateFNeg(intrinsic(llvm::Intrinsic::fabs, x)));
        return b_.CreateFAdd(stdMax(x, f(0)), lib("dlc_k_logf", b_.CreateFAdd(f(1), e)));
      }
      case OpKind::Pow: {
        float p = *constantScalar(op.operand(1));
        if (p == 1.0f) return x;
        if (p == 2.0f) return b_.CreateFMul(x, x);
        if (p == 3.0f) return b_.CreateFMul(x, b_.CreateFMul(x, x));
        if (p == 0.5f) return intrinsic(llvm::Intrinsic::sqrt, x);
        return b_.CreateFDiv(f(1), x);
      }
      default:
        return Status::error(str(where(op), ": no scalar lowering"));
    }
  }

 private:
  SegmentEmitter& e_;
  Builder& b_;
};

// One operand of the loop: its pointer slot in the context (or a constant) and broadcast strides.
struct LoopOperand {
  std::vector<int64_t> strides;  // per output dim, in elements
  std::optional<float> constant;
  bool absent = false;           // an optional operand not given (Clip without min)
};

// The op's value at one element, from its operands' values there (null for absent ones).
Expected<llvm::Value*> emitElementValue(SegmentEmitter& e, Builder& b, const Op& op, const std::vector<llvm::Value*>& values) {
  ScalarEmitter scalar(e, b);
  if (op.kind() != OpKind::FusedElementwise) return scalar.emit(op, values);
  const Region& body = *op.attr("body")->g;
  std::map<const Value*, llvm::Value*> env;
  for (int i = 0; i < body.numArguments(); ++i) env[body.argument(i)] = values[static_cast<size_t>(i)];
  for (const auto& inner_op : body.ops()) {
    std::vector<llvm::Value*> in;
    for (const Value* v : inner_op->operands()) in.push_back(v ? env.at(v) : nullptr);
    DLC_ASSIGN_OR_RETURN(llvm::Value* res, scalar.emit(*inner_op, in));
    env[inner_op->result()] = res;
  }
  return env.at(body.output(0));
}

// The sizes a row worker walks: `rows` rows of `inner` elements, row r at output offset r·inner and
// at Σ idx_d·strides[k][d] in operand k (r decomposed over the outer `dims`), element j of a row at
// j·inner_stride[k] from there. Constants in a static segment, loads from the run table in a
// symbolic one; operands read as constants or absent have no strides.
struct RowSizes {
  llvm::Value* rows;
  llvm::Value* inner;
  std::vector<llvm::Value*> dims;                  // outer dims, outermost first
  std::vector<std::vector<llvm::Value*>> strides;  // per operand, per outer dim
  std::vector<llvm::Value*> inner_stride;          // per operand
};

bool isConstantInt(llvm::Value* v, int64_t value) {
  auto* c = llvm::dyn_cast<llvm::ConstantInt>(v);
  return c && c->getSExtValue() == value;
}

// The worker void fn(ptr ctx, i64 job) of an elementwise op, ctx = {the loaded operands' pointers...,
// output pointer, i64 jobs, extra...}: rows [job·rows/jobs, (job+1)·rows/jobs), the body computed
// per element in scalar IR. `sizes` writes the loop's sizes in the worker's entry block.
Expected<llvm::Function*> emitRowWorker(SegmentEmitter& e, const Op& op, const std::vector<std::optional<float>>& constant, size_t loaded,
                                        const std::function<RowSizes(Builder&, llvm::Value* context)>& sizes) {
  llvm::LLVMContext& ctx = e.context();
  auto* ptr_ty = llvm::PointerType::get(ctx, 0);
  auto* i64 = llvm::Type::getInt64Ty(ctx);
  auto* f32 = llvm::Type::getFloatTy(ctx);
  llvm::Function* fn = e.helper("elementwise", llvm::FunctionType::get(llvm::Type::getVoidTy(ctx), {ptr_ty, i64}, false));
  Builder b(llvm::BasicBlock::Create(ctx, "entry", fn));
  llvm::Value* context = fn->getArg(0);
  std::vector<llvm::Value*> bases;
  for (size_t i = 0; i <= loaded; ++i) bases.push_back(b.CreateLoad(ptr_ty, b.CreateConstGEP1_64(ptr_ty, context, static_cast<int64_t>(i))));
  llvm::Value* jobs = b.CreateLoad(i64, b.CreateConstGEP1_64(ptr_ty, context, static_cast<int64_t>(loaded + 1)));
  const RowSizes z = sizes(b, context);
  const size_t operands = static_cast<size_t>(op.numOperands());
  auto read = [&](size_t k) { return op.operand(static_cast<int>(k)) && !constant[k]; };
  llvm::Value* job = fn->getArg(1);
  llvm::Value* rlo = b.CreateUDiv(b.CreateMul(job, z.rows), jobs);
  llvm::Value* rhi = b.CreateUDiv(b.CreateMul(b.CreateAdd(job, b.getInt64(1)), z.rows), jobs);
  auto* row_head = llvm::BasicBlock::Create(ctx, "row", fn);
  auto* row_body = llvm::BasicBlock::Create(ctx, "row.body", fn);
  auto* col = llvm::BasicBlock::Create(ctx, "col", fn);
  auto* row_next = llvm::BasicBlock::Create(ctx, "row.next", fn);
  auto* done = llvm::BasicBlock::Create(ctx, "done", fn);
  auto* entry_block = b.GetInsertBlock();
  b.CreateBr(row_head);

  b.SetInsertPoint(row_head);
  llvm::PHINode* r = b.CreatePHI(i64, 2, "r");
  r->addIncoming(rlo, entry_block);
  b.CreateCondBr(b.CreateICmpULT(r, rhi), row_body, done);

  // Row start offsets: r decomposed over the outer dims.
  b.SetInsertPoint(row_body);
  std::vector<llvm::Value*> row_ptr(operands + 1, nullptr);
  {
    std::vector<llvm::Value*> offsets(operands, b.getInt64(0));
    llvm::Value* rest = r;
    for (size_t d = z.dims.size(); d-- > 0;) {
      llvm::Value* idx = d == 0 ? rest : b.CreateURem(rest, z.dims[d]);
      if (d > 0) rest = b.CreateUDiv(rest, z.dims[d]);
      for (size_t k = 0; k < operands; ++k)
        if (read(k) && !isConstantInt(z.strides[k][d], 0)) offsets[k] = b.CreateAdd(offsets[k], b.CreateMul(idx, z.strides[k][d]));
    }
    size_t slot = 0;
    for (size_t k = 0; k < operands; ++k)
      if (read(k)) row_ptr[k] = b.CreateGEP(f32, bases[slot++], offsets[k]);
    row_ptr.back() = b.CreateGEP(f32, bases.back(), b.CreateMul(r, z.inner));
  }
  b.CreateBr(col);

  b.SetInsertPoint(col);
  llvm::PHINode* j = b.CreatePHI(i64, 2, "j");
  j->addIncoming(b.getInt64(0), row_body);
  std::vector<llvm::Value*> values;
  for (size_t k = 0; k < operands; ++k) {
    if (!op.operand(static_cast<int>(k))) {
      values.push_back(nullptr);
    } else if (constant[k]) {
      values.push_back(llvm::ConstantFP::get(f32, *constant[k]));
    } else {
      // A step read from the table (not a constant) is one the vectorizer speculates as 1.
      llvm::Value* s = z.inner_stride[k];
      llvm::Value* p = isConstantInt(s, 0) ? row_ptr[k] : b.CreateGEP(f32, row_ptr[k], isConstantInt(s, 1) ? j : b.CreateMul(j, s));
      values.push_back(b.CreateLoad(f32, p));
    }
  }
  DLC_ASSIGN_OR_RETURN(llvm::Value* y, emitElementValue(e, b, op, values));
  b.CreateStore(y, b.CreateGEP(f32, row_ptr.back(), j));
  llvm::Value* j_next = b.CreateAdd(j, b.getInt64(1));
  j->addIncoming(j_next, b.GetInsertBlock());
  b.CreateCondBr(b.CreateICmpULT(j_next, z.inner), col, row_next);

  b.SetInsertPoint(row_next);
  llvm::Value* r_next = b.CreateAdd(r, b.getInt64(1));
  r->addIncoming(r_next, row_next);
  b.CreateBr(row_head);

  b.SetInsertPoint(done);
  b.CreateRetVoid();
  return fn;
}

}  // namespace

Status checkElementwise(const Op& op) {
  if (op.numResults() != 1 || !staticF32(op.result())) return Status::error(str(where(op), ": result is not a static f32 tensor"));
  std::vector<int64_t> out = shapeOf(op.result());
  for (const Value* v : op.operands()) {
    if (!v) continue;
    if (!staticF32(v)) return Status::error(str(where(op), ": operand ", v->name(), " is not a static f32 tensor"));
    if (!broadcastsTo(shapeOf(v), out)) return Status::error(str(where(op), ": operand ", v->name(), " does not broadcast"));
  }
  if (op.kind() != OpKind::FusedElementwise) return checkScalarOp(op);
  const Attribute* body = op.attr("body");
  if (!body || !body->g || body->g->numOutputs() != 1) return Status::error(str(where(op), ": body"));
  for (const auto& inner : body->g->ops()) {
    DLC_RETURN_IF_ERROR(checkScalarOp(*inner));
    for (int r = 0; r < inner->numResults(); ++r)
      if (inner->result(r)->type().dtype != DType::F32) return Status::error(str(where(*inner), ": not f32"));
    for (const Value* v : inner->operands())
      if (v && !v->argumentOf() && !(v->definingOp() && v->definingOp()->parent() == body->g.get()))
        return Status::error(str(where(op), ": the body captures outer values"));
  }
  return Status::success();
}

Status emitElementwise(SegmentEmitter& e, const Op& op) {
  std::vector<int64_t> out = shapeOf(op.result());
  const int64_t total = numel(out);
  if (total == 0) return Status::success();
  // Broadcast strides of every operand over the output's dims, then drop unit dims and merge
  // neighbours that every operand walks contiguously.
  std::vector<LoopOperand> operands;
  std::vector<const Value*> loaded;  // operands read from memory, in context order
  for (const Value* v : op.operands()) {
    LoopOperand o;
    if (!v) {
      o.absent = true;
      o.strides.assign(out.size(), 0);
      operands.push_back(o);
      continue;
    }
    o.constant = numel(shapeOf(v)) == 1 ? constantScalar(v) : std::nullopt;
    std::vector<int64_t> s = shapeOf(v);
    std::vector<int64_t> padded(out.size() - s.size(), 1);
    padded.insert(padded.end(), s.begin(), s.end());
    o.strides.assign(out.size(), 0);
    int64_t stride = 1;
    for (size_t i = out.size(); i-- > 0;) {
      o.strides[i] = padded[i] == 1 ? 0 : stride;
      stride *= padded[i];
    }
    operands.push_back(o);
    if (!o.constant) loaded.push_back(v);
  }
  std::vector<int64_t> dims;
  std::vector<std::vector<int64_t>> strides(operands.size());
  for (size_t i = 0; i < out.size(); ++i) {
    if (out[i] == 1) continue;
    bool merge = !dims.empty();
    for (size_t k = 0; k < operands.size() && merge; ++k)
      merge = strides[k].back() == operands[k].strides[i] * out[i];
    if (merge) {
      dims.back() *= out[i];
      for (size_t k = 0; k < operands.size(); ++k) strides[k].back() = operands[k].strides[i];
    } else {
      dims.push_back(out[i]);
      for (size_t k = 0; k < operands.size(); ++k) strides[k].push_back(operands[k].strides[i]);
    }
  }
  if (dims.empty()) {
    dims.push_back(1);
    for (auto& s : strides) s.push_back(0);
  }
  // A long single row is cut into rows so threads can share it.
  if (dims.size() == 1 && dims[0] >= 65536) {
    for (int64_t chunk : {8192, 4096, 2048, 1024, 512}) {
      if (dims[0] % chunk) continue;
      dims = {dims[0] / chunk, chunk};
      for (auto& s : strides) s = {s[0] * chunk, s[0]};
      break;
    }
  }
  const size_t rank = dims.size();
  const int64_t inner = dims.back(), rows = total / inner;
  const int64_t max_jobs = total >= 32768 ? rows : 1;

  // Compile-time sizes; constant and absent operands have no strides.
  std::vector<std::optional<float>> constant;
  for (const LoopOperand& o : operands) constant.push_back(o.constant);
  auto sizes = [&](Builder& b, llvm::Value*) {
    RowSizes z{b.getInt64(rows), b.getInt64(inner), {}, std::vector<std::vector<llvm::Value*>>(operands.size()), {}};
    for (size_t d = 0; d + 1 < rank; ++d) z.dims.push_back(b.getInt64(dims[d]));
    for (size_t k = 0; k < operands.size(); ++k) {
      for (size_t d = 0; d + 1 < rank; ++d) z.strides[k].push_back(b.getInt64(strides[k][d]));
      z.inner_stride.push_back(b.getInt64(strides[k][rank - 1]));
    }
    return z;
  };
  DLC_ASSIGN_OR_RETURN(llvm::Function* fn, emitRowWorker(e, op, constant, loaded.size(), sizes));

  // The call site: fill the context and run the rows on the threads.
  auto* ptr_ty = llvm::PointerType::get(e.context(), 0);
  Builder& b = e.b();
  auto* ctx_type = llvm::ArrayType::get(ptr_ty, loaded.size() + 2);
  llvm::Value* context = b.CreateAlloca(ctx_type);
  for (size_t i = 0; i < loaded.size(); ++i) b.CreateStore(e.ptr(loaded[i]), b.CreateConstGEP2_64(ctx_type, context, 0, i));
  b.CreateStore(e.ptr(op.result()), b.CreateConstGEP2_64(ctx_type, context, 0, loaded.size()));
  llvm::Value* jobs = max_jobs > 1 ? e.jobsUpTo(max_jobs) : b.getInt64(1);
  b.CreateStore(jobs, b.CreateConstGEP2_64(ctx_type, context, 0, loaded.size() + 1));
  if (max_jobs > 1) {
    e.parallelFor(fn, context, jobs);
  } else {
    b.CreateCall(fn, {context, b.getInt64(0)});
  }
  return Status::success();
}

// A segment with symbolic dims: the same loop over the output's full rank (no dims collapsed:
// which merge depends on sizes), its trip counts and strides read from the op's block of the run
// table (segment_plan.h's ElementwiseLayout) in the worker, the context's last slot pointing to it.
Status emitElementwiseSymbolic(SegmentEmitter& e, const Op& op, const OpBlocks& blocks) {
  DLC_ASSIGN_OR_RETURN(std::vector<int64_t> inner_stride, elementwiseInnerStrides(op));
  const ElementwiseLayout layout{std::max<size_t>(1, static_cast<size_t>(op.result()->type().shape.rank()))};
  const size_t rank = layout.rank;
  std::vector<std::optional<float>> constant;
  std::vector<const Value*> loaded;  // operands read from memory, in context order
  for (const Value* v : op.operands()) {
    constant.push_back(v && v->type().shape.isStatic() && v->type().shape.numElements() == 1 ? constantScalar(v) : std::nullopt);
    if (v && !constant.back()) loaded.push_back(v);
  }
  auto* ptr_ty = llvm::PointerType::get(e.context(), 0);
  auto sizes = [&](Builder& b, llvm::Value* context) {
    auto* i64 = b.getInt64Ty();
    llvm::Value* block = b.CreateLoad(ptr_ty, b.CreateConstGEP1_64(ptr_ty, context, static_cast<int64_t>(loaded.size() + 2)));
    // Every size is read once, here: the stores of the loop could alias the table as far as LLVM knows.
    auto word = [&](size_t w) { return b.CreateLoad(i64, b.CreateConstGEP1_64(i64, block, static_cast<int64_t>(w))); };
    RowSizes z{word(0), word(1), {}, std::vector<std::vector<llvm::Value*>>(constant.size()), {}};
    for (size_t d = 0; d + 1 < rank; ++d) z.dims.push_back(word(layout.dim(d)));
    for (size_t k = 0; k < constant.size(); ++k) {
      const bool read = op.operand(static_cast<int>(k)) && !constant[k];
      for (size_t d = 0; read && d + 1 < rank; ++d) z.strides[k].push_back(word(layout.stride(k, d)));
      z.inner_stride.push_back(read && inner_stride[k] ? static_cast<llvm::Value*>(word(layout.stride(k, rank - 1))) : b.getInt64(0));
    }
    return z;
  };
  DLC_ASSIGN_OR_RETURN(llvm::Function* fn, emitRowWorker(e, op, constant, loaded.size(), sizes));

  Builder& b = e.b();
  auto* ctx_type = llvm::ArrayType::get(ptr_ty, loaded.size() + 3);
  llvm::Value* context = b.CreateAlloca(ctx_type);
  for (size_t i = 0; i < loaded.size(); ++i) b.CreateStore(e.ptr(loaded[i]), b.CreateConstGEP2_64(ctx_type, context, 0, i));
  b.CreateStore(e.ptr(op.result()), b.CreateConstGEP2_64(ctx_type, context, 0, loaded.size()));
  llvm::Value* jobs = e.jobsUpTo(blocks.loadInt(0, 2));
  b.CreateStore(jobs, b.CreateConstGEP2_64(ctx_type, context, 0, loaded.size() + 1));
  b.CreateStore(blocks.ptr(0), b.CreateConstGEP2_64(ctx_type, context, 0, loaded.size() + 2));
  e.parallelFor(fn, context, jobs);
  return Status::success();
}

}  // namespace dlc::llvm_cpu
