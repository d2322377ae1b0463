// The per-run table of a cpu segment with symbolic dims (segment_plan.h).
#include "backends/llvm_cpu/plan/segment_plan.h"

#include <algorithm>
#include <cstring>

namespace dlc::llvm_cpu {
namespace {

constexpr int64_t kAlign = 64;
int64_t alignBytes(int64_t n) { return (n + kAlign - 1) / kAlign * kAlign; }

bool isElementwise(OpKind kind) {
  return kind == OpKind::FusedElementwise || (opInfo(kind).has(kElementwise) && !opInfo(kind).has(kSideEffects));
}

// Signature words naming what the code of an op was emitted for, so that a table from another
// kind of op (a corrupt payload) never matches.
int64_t opTag(const Op& op) { return 1000 + static_cast<int64_t>(op.kind()); }

Status planElementwise(const Op& declared, const Op& sized, PlanBlocks& blocks) {
  if (sized.numResults() != 1) return Status::error(str(where(sized), ": results"));
  auto f32 = [](const Value* v) { return v->type().isTensor() && v->type().dtype == DType::F32 && v->type().shape.isStatic(); };
  if (!f32(sized.result())) return Status::error(str(where(sized), ": result is not a static f32 tensor"));
  std::vector<int64_t> out = shapeOf(sized.result());
  if (out.empty()) out = {1};
  const ElementwiseLayout layout{out.size()};
  DLC_ASSIGN_OR_RETURN(std::vector<int64_t> compiled, elementwiseInnerStrides(declared));
  std::vector<int64_t> words(layout.size(static_cast<size_t>(sized.numOperands())), 0);
  const int64_t total = numel(out), inner = out.back();
  words[0] = inner ? total / inner : 0;
  words[1] = inner;
  words[2] = total >= 32768 ? words[0] : 1;
  for (size_t d = 0; d + 1 < out.size(); ++d) words[layout.dim(d)] = out[d];
  for (int k = 0; k < sized.numOperands(); ++k) {
    const Value* v = sized.operand(k);
    if (!v) continue;
    if (!f32(v)) return Status::error(str(where(sized), ": operand ", v->name(), " is not a static f32 tensor"));
    std::vector<int64_t> s = shapeOf(v);
    if (s.size() > out.size()) return Status::error(str(where(sized), ": operand ", v->name(), " does not broadcast"));
    std::vector<int64_t> padded(out.size() - s.size(), 1);
    padded.insert(padded.end(), s.begin(), s.end());
    int64_t stride = 1;
    for (size_t d = out.size(); d-- > 0;) {
      if (padded[d] != 1 && padded[d] != out[d])
        return Status::error(str(where(sized), ": operand ", v->name(), " does not broadcast"));
      int64_t step = padded[d] == 1 ? 0 : stride;
      // The inner stride of an operand compiled as broadcast along the row is 0 at every size
      // (its last dim is a static 1); the others are read (0 where a run's size of 1 broadcasts).
      words[layout.stride(static_cast<size_t>(k), d)] = d + 1 == out.size() && compiled[static_cast<size_t>(k)] == 0 ? 0 : step;
      stride *= padded[d];
    }
  }
  blocks.decide(static_cast<int64_t>(layout.rank));
  blocks.add(words.data(), words.size() * sizeof(int64_t));
  return Status::success();
}

struct CopyBlock {
  dlc_copy_params p;
  int64_t src_offset_bytes, dst_offset_bytes;
};

}  // namespace

size_t PlanBlocks::add(const void* data, size_t size) {
  size_t at = (bytes.size() + 7) / 8 * 8;
  bytes.resize(at + size);
  std::memcpy(bytes.data() + at, data, size);
  bytes.resize((bytes.size() + 7) / 8 * 8);
  offsets.push_back(at);
  signature.push_back(static_cast<int64_t>(size));
  return offsets.size() - 1;
}

MemoryPlan planIntermediates(const std::vector<const Op*>& ops, const std::set<const Value*>& outputs) {
  MemoryPlan plan;
  std::unordered_map<const Value*, size_t> last_use;
  auto root = [&](const Value* v) {
    auto it = plan.alias_of.find(v);
    return it == plan.alias_of.end() ? v : it->second;
  };
  for (size_t t = 0; t < ops.size(); ++t) {
    const Op* op = ops[t];
    for (const Value* v : op->operands())
      if (v) last_use[root(v)] = t;
    if (isViewKind(op->kind()) && !outputs.count(op->result(0))) plan.alias_of[op->result(0)] = root(op->operand(0));
  }
  struct Block {
    int64_t offset, size;
    size_t last;
  };
  std::vector<Block> live;
  for (size_t t = 0; t < ops.size(); ++t) {
    live.erase(std::remove_if(live.begin(), live.end(), [&](const Block& b) { return b.last < t; }), live.end());
    for (int r = 0; r < ops[t]->numResults(); ++r) {
      const Value* v = ops[t]->result(r);
      if (plan.alias_of.count(v) || outputs.count(v)) continue;
      int64_t size = alignBytes(static_cast<int64_t>(dtypeStorageBytes(v->type().dtype, std::max<int64_t>(0, numel(shapeOf(v))))));
      std::sort(live.begin(), live.end(), [](const Block& a, const Block& b) { return a.offset < b.offset; });
      int64_t offset = 0;
      for (const Block& b : live) {
        if (offset + size <= b.offset) break;
        offset = std::max(offset, b.offset + b.size);
      }
      auto lu = last_use.find(v);
      live.push_back({offset, size, lu == last_use.end() ? t : lu->second});
      plan.intermediates.push_back(v);
      plan.offsets.push_back(offset);
      plan.bytes = std::max(plan.bytes, offset + size);
    }
  }
  return plan;
}

Expected<std::vector<int64_t>> elementwiseInnerStrides(const Op& declared) {
  const Type& out_type = declared.result()->type();
  if (!out_type.isTensor() || !out_type.shape.ranked) return Status::error(str(where(declared), ": result rank unknown"));
  const Dim one = Dim::of(1);
  const Dim out_inner = out_type.shape.rank() ? out_type.shape.dims.back() : one;
  std::vector<int64_t> strides;
  for (const Value* v : declared.operands()) {
    if (!v) {
      strides.push_back(0);
      continue;
    }
    if (!v->type().isTensor() || !v->type().shape.ranked || v->type().shape.rank() > std::max(1, out_type.shape.rank()))
      return Status::error(str(where(declared), ": operand ", v->name(), " rank"));
    const Dim inner = v->type().shape.rank() ? v->type().shape.dims.back() : one;
    strides.push_back(inner == one && out_inner != one ? 0 : 1);
  }
  return strides;
}

Status planOpBlocks(const Op& declared, const Op& sized, const IsWeight& weight, PlanBlocks& blocks) {
  if (declared.kind() != sized.kind() || declared.numOperands() != sized.numOperands() || declared.numResults() != sized.numResults())
    return Status::error(str(where(sized), ": does not match the compiled op"));
  blocks.decide(opTag(sized));
  switch (sized.kind()) {
    case OpKind::Conv:
    case OpKind::FusedConv: {
      DLC_ASSIGN_OR_RETURN(dlc_conv_params c, convParams(sized, weight));
      blocks.add(c);
      return Status::success();
    }
    case OpKind::MatMul:
    case OpKind::FusedMatMul: {
      DLC_ASSIGN_OR_RETURN(MatMulPlan plan, matmulPlan(sized, weight));
      if (plan.calls.size() != 1)
        return Status::error(str(where(sized), ": its operands broadcast over the batch at this size, one call per entry"));
      blocks.decide(plan.p.b_packed);
      blocks.decide(plan.p.ep.bias_kind);
      blocks.decide(plan.p.ep.has_residual);
      blocks.add(plan.p);
      return Status::success();
    }
    case OpKind::MaxPool:
    case OpKind::AveragePool: {
      DLC_ASSIGN_OR_RETURN(dlc_pool_params p, poolParams(sized));
      blocks.add(p);
      return Status::success();
    }
    case OpKind::GlobalAveragePool:
    case OpKind::ReduceMean: {
      DLC_RETURN_IF_ERROR(sized.kind() == OpKind::ReduceMean ? checkReduceMean(sized) : checkGlobalAvg(sized));
      std::vector<int64_t> x = shapeOf(sized.operand(0));
      int64_t rows = sized.kind() == OpKind::ReduceMean ? numel(shapeOf(sized.result())) : x[0] * x[1];
      int64_t sizes[2] = {rows, numel(x) / std::max<int64_t>(1, rows)};
      blocks.add(sizes);
      return Status::success();
    }
    case OpKind::BatchNormalization: {
      DLC_RETURN_IF_ERROR(checkF32(sized));
      std::vector<int64_t> x = shapeOf(sized.operand(0));
      if (x.size() < 2) return Status::error(str(where(sized), ": rank"));
      int64_t sizes[3] = {x[0], x[1], x[0] * x[1] ? numel(x) / (x[0] * x[1]) : 0};
      blocks.add(sizes);
      return Status::success();
    }
    case OpKind::Softmax:
    case OpKind::LogSoftmax: {
      DLC_ASSIGN_OR_RETURN(dlc_softmax_params p, softmaxParams(sized));
      blocks.add(p);
      return Status::success();
    }
    case OpKind::LayerNormalization:
    case OpKind::RMSNormalization: {
      DLC_ASSIGN_OR_RETURN(dlc_layernorm_params p, layerNormParams(sized));
      blocks.add(p);
      return Status::success();
    }
    case OpKind::Attention: {
      DLC_ASSIGN_OR_RETURN(dlc_attention_params p, attentionParams(sized));
      blocks.decide(p.has_mask);
      blocks.add(p);
      return Status::success();
    }
    case OpKind::Transpose:
    case OpKind::Split:
    case OpKind::Concat: {
      DLC_ASSIGN_OR_RETURN(std::vector<CopyCall> calls, copyCalls(sized));
      for (const CopyCall& c : calls) {
        CopyBlock b{c.p, c.src_offset * c.p.elem_bytes, c.dst_offset * c.p.elem_bytes};
        blocks.add(b);
      }
      return Status::success();
    }
    default:
      if (isViewKind(sized.kind())) {
        DLC_RETURN_IF_ERROR(checkView(sized));
        int64_t bytes = static_cast<int64_t>(dtypeStorageBytes(sized.result()->type().dtype, numel(shapeOf(sized.result()))));
        blocks.add(bytes);
        return Status::success();
      }
      if (isElementwise(sized.kind())) return planElementwise(declared, sized, blocks);
      return Status::error(str(where(sized), ": no code for symbolic sizes"));
  }
}

Expected<SegmentTable> planSegmentTable(const std::vector<const Op*>& declared, const std::vector<const Op*>& sized,
                                        const std::set<const Value*>& sized_outputs, const IsWeight& weight) {
  if (declared.size() != sized.size()) return Status::error("the segment's ops do not match the compiled ones");
  SegmentTable table;
  table.memory = planIntermediates(sized, sized_outputs);
  PlanBlocks blocks;
  for (size_t i = 0; i < sized.size(); ++i) DLC_RETURN_IF_ERROR(planOpBlocks(*declared[i], *sized[i], weight, blocks));
  const MemoryPlan& memory = table.memory;
  std::vector<int64_t> header{memory.bytes};
  header.insert(header.end(), memory.offsets.begin(), memory.offsets.end());
  table.bytes.resize(header.size() * 8);
  std::memcpy(table.bytes.data(), header.data(), table.bytes.size());
  table.bytes.insert(table.bytes.end(), blocks.bytes.begin(), blocks.bytes.end());
  table.signature.push_back(static_cast<int64_t>(memory.intermediates.size()));
  table.signature.insert(table.signature.end(), blocks.signature.begin(), blocks.signature.end());
  return table;
}

}  // namespace dlc::llvm_cpu
