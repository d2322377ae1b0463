// Building and running a Program: tensors and views, reorders (constants repacked once at load),
// workspace planning by liveness, and execution on a session's workspace.
#include "backends/onednn/library/program.h"

#include <omp.h>

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <set>

#include "ir/dtype_onnx.h"
#include "ir/verifier.h"

namespace dlc::onednn {

using dnnl::memory;

const dnnl::engine& cpuEngine() {
  static const dnnl::engine engine(dnnl::engine::kind::cpu, 0);
  return engine;
}

std::string where(const Op& op) { return str(op.name(), " '", op.location(), "'"); }

memory::dims dimsOf(const Type& t) {
  memory::dims d;
  for (const Dim& x : t.shape.dims) d.push_back(x.value);
  if (d.empty()) d.push_back(1);  // oneDNN has no rank 0: a scalar is one element
  return d;
}

std::optional<memory::data_type> dnnlType(DType t) {
  switch (t) {
    case DType::F32: return memory::data_type::f32;
    case DType::BF16: return memory::data_type::bf16;
    case DType::F16: return memory::data_type::f16;
    case DType::I8: return memory::data_type::s8;
    case DType::U8: return memory::data_type::u8;
    case DType::I32: return memory::data_type::s32;
    default: return std::nullopt;
  }
}

memory::desc plainDesc(const memory::dims& dims, memory::data_type dt) {
  memory::dims strides(dims.size(), 1);
  for (size_t i = dims.size(); i-- > 1;) strides[i - 1] = strides[i] * std::max<memory::dim>(dims[i], 1);
  return memory::desc(dims, dt, strides);
}

memory::desc withRank(const memory::desc& md, int rank) {
  memory::dims dims = md.dims();
  if (static_cast<int>(dims.size()) >= rank) return md;
  const dnnl_memory_desc_t& d = md.data;
  memory::dims strides(d.format_desc.blocking.strides, d.format_desc.blocking.strides + d.ndims);
  memory::dim outer = dims.empty() ? 1 : dims[0] * strides[0];
  while (static_cast<int>(dims.size()) < rank) {
    dims.insert(dims.begin(), 1);
    strides.insert(strides.begin(), outer);
  }
  return memory::desc(dims, md.data_type(), strides);
}

dnnl::primitive_attr Builder::baseAttr() {
  dnnl::primitive_attr attr;
  attr.set_scratchpad_mode(dnnl::scratchpad_mode::user);
  return attr;
}

int Builder::add(TensorSlot t) {
  p_.tensors_.push_back(std::move(t));
  return static_cast<int>(p_.tensors_.size()) - 1;
}

Expected<int> Builder::tensorOf(const Value* v) {
  auto it = values_.find(v);
  if (it == values_.end()) return Status::error(str("value '", v ? v->name() : "?", "' has no oneDNN tensor"));
  return it->second;
}

const void* Builder::constantData(int t) const {
  const TensorSlot& s = p_.tensors_[static_cast<size_t>(t)];
  const TensorSlot& r = s.root >= 0 ? p_.tensors_[static_cast<size_t>(s.root)] : s;
  return r.owned ? r.owned.get() : r.borrowed;
}

int Builder::internal(const memory::desc& md) {
  TensorSlot t;
  t.md = md;
  t.kind = TensorSlot::Kind::Internal;
  return add(std::move(t));
}

Expected<int> Builder::zeros(const memory::desc& md) {
  size_t bytes = (md.get_size() + 63) / 64 * 64;
  std::shared_ptr<void> data(std::aligned_alloc(64, bytes), std::free);
  if (!data) return Status::error("out of memory making a zero buffer");
  std::memset(data.get(), 0, bytes);
  TensorSlot t;
  t.md = md;
  t.kind = TensorSlot::Kind::Constant;
  t.owned = std::move(data);
  return add(std::move(t));
}

int Builder::view(int t, const memory::desc& md) {
  TensorSlot v = p_.tensors_[static_cast<size_t>(t)];
  v.md = md;
  if (v.root < 0) v.root = t;
  v.first = 1 << 30;
  v.last = -1;
  return add(std::move(v));
}

namespace {
std::string layoutKey(const memory::desc& md) {
  return std::string(reinterpret_cast<const char*>(&md.data), sizeof md.data);
}
}  // namespace

std::shared_ptr<void> RepackCache::find(const void* data, const std::string& from, const std::string& to) {
  std::lock_guard<std::mutex> lock(mutex_);
  auto it = packed_.find({data, from, to});
  return it == packed_.end() ? nullptr : it->second;
}

void RepackCache::insert(const void* data, const std::string& from, const std::string& to, std::shared_ptr<void> packed) {
  std::lock_guard<std::mutex> lock(mutex_);
  packed_.emplace(std::make_tuple(data, from, to), std::move(packed));
}

Expected<int> Builder::ensure(int t, memory::desc md) {  // md by value: it may be a tensor's, and adding one moves them
  if (md == this->md(t)) return t;
  auto key = std::make_pair(t, layoutKey(md));
  auto cached = reorders_.find(key);
  if (cached != reorders_.end()) return cached->second;
  int out;
  if (isConstant(t)) {
    // Weights are repacked once, here, into memory the program owns (or shares with the step's
    // other programs).
    const void* from = constantData(t);
    std::string from_layout = layoutKey(this->md(t)), to_layout = layoutKey(md);
    std::shared_ptr<void> data = repacked_ ? repacked_->find(from, from_layout, to_layout) : nullptr;
    if (!data) {
      size_t bytes = md.get_size();
      data = std::shared_ptr<void>(std::aligned_alloc(64, (bytes + 63) / 64 * 64 + 64), std::free);
      if (!data) return Status::error("out of memory repacking a weight");
      memory src(this->md(t), cpuEngine(), const_cast<void*>(from));
      memory dst(md, cpuEngine(), data.get());
      dnnl::stream s(cpuEngine());
      dnnl::reorder(src, dst).execute(s, src, dst);
      s.wait();
      if (repacked_) repacked_->insert(from, from_layout, to_layout, data);
    }
    TensorSlot c;
    c.md = md;
    c.kind = TensorSlot::Kind::Constant;
    c.owned = std::move(data);
    out = add(std::move(c));
  } else {
    out = internal(md);
    dnnl::reorder::primitive_desc pd(cpuEngine(), this->md(t), cpuEngine(), md, baseAttr());
    Exec e;
    e.primitive = dnnl::reorder(pd);
    e.args = {{DNNL_ARG_FROM, t}, {DNNL_ARG_TO, out}};
    e.scratchpad = pd.scratchpad_desc();
    e.what = "reorder";
    p_.execs_.push_back(std::move(e));
    int at = static_cast<int>(p_.execs_.size()) - 1;
    for (int x : {t, out}) {
      TensorSlot& s = p_.tensors_[static_cast<size_t>(x)];
      s.first = std::min(s.first, at);
      s.last = std::max(s.last, at);
    }
  }
  reorders_[key] = out;
  return out;
}

Expected<int> Builder::ensurePlain(int t) { return ensure(t, plainDesc(md(t).dims(), md(t).data_type())); }

void Builder::exec(dnnl::primitive prim, std::vector<std::pair<int, int>> args, const memory::desc& scratchpad, const Op& op) {
  int at = static_cast<int>(p_.execs_.size());
  for (const auto& [arg, t] : args) {
    TensorSlot& s = p_.tensors_[static_cast<size_t>(t)];
    s.first = std::min(s.first, at);
    s.last = std::max(s.last, at);
  }
  p_.execs_.push_back(Exec{std::move(prim), std::move(args), scratchpad, where(op)});
}

void Builder::host(std::function<void(void* const* data)> fn, const std::vector<int>& tensors, const Op& op) {
  std::vector<std::pair<int, int>> args;
  for (size_t i = 0; i < tensors.size(); ++i) args.push_back({static_cast<int>(i), tensors[i]});
  exec(dnnl::primitive(), std::move(args), memory::desc(), op);
  p_.execs_.back().host = std::move(fn);
}

Status Builder::copy(int src, int dst, const Op& op) {
  dnnl::reorder::primitive_desc pd(cpuEngine(), md(src), cpuEngine(), md(dst), baseAttr());
  exec(dnnl::reorder(pd), {{DNNL_ARG_FROM, src}, {DNNL_ARG_TO, dst}}, pd.scratchpad_desc(), op);
  return Status::success();
}

namespace {

// Places internal tensors in the workspace: a view keeps its root alive; roots whose lives do
// not overlap share bytes (first fit in order of first use).
size_t planWorkspace(std::vector<TensorSlot>& tensors) {
  for (const TensorSlot& t : tensors)
    if (t.root >= 0) {
      TensorSlot& r = tensors[static_cast<size_t>(t.root)];
      r.first = std::min(r.first, t.first);
      r.last = std::max(r.last, t.last);
    }
  std::vector<size_t> order;
  for (size_t i = 0; i < tensors.size(); ++i)
    if (tensors[i].kind == TensorSlot::Kind::Internal && tensors[i].root < 0 && tensors[i].last >= 0) order.push_back(i);
  std::sort(order.begin(), order.end(), [&](size_t a, size_t b) { return tensors[a].first < tensors[b].first; });
  struct Block {
    size_t offset, size;
    int last;
  };
  std::vector<Block> live;
  size_t total = 0;
  for (size_t i : order) {
    TensorSlot& t = tensors[i];
    size_t size = (t.md.get_size() + 63) / 64 * 64;
    live.erase(std::remove_if(live.begin(), live.end(), [&](const Block& b) { return b.last < t.first; }), live.end());
    std::sort(live.begin(), live.end(), [](const Block& a, const Block& b) { return a.offset < b.offset; });
    size_t at = 0;
    for (const Block& b : live) {
      if (b.offset >= at + size) break;
      at = std::max(at, b.offset + b.size);
    }
    t.offset = at;
    live.push_back({at, size, t.last});
    total = std::max(total, at + size);
  }
  for (TensorSlot& t : tensors)
    if (t.root >= 0 && t.kind == TensorSlot::Kind::Internal) t.offset = tensors[static_cast<size_t>(t.root)].offset;
  return total;
}

}  // namespace

Expected<std::unique_ptr<Program>> Program::build(const Graph& segment, const std::vector<const void*>& constants,
                                                  RepackCache* repacked) {
  auto program = std::make_unique<Program>();
  Builder b(*program, repacked);
  const Region& body = segment.body();
  if (static_cast<size_t>(body.numArguments()) != constants.size())
    return Status::error(str("segment takes ", body.numArguments(), " inputs, ", constants.size(), " given"));
  try {
    for (int i = 0; i < body.numArguments(); ++i) {
      const Value* arg = body.argument(i);
      auto dt = arg->type().isTensor() ? dnnlType(arg->type().dtype) : std::nullopt;
      bool is_constant = constants[static_cast<size_t>(i)] != nullptr;
      if (!arg->type().isTensor() || !arg->type().shape.isStatic() || (!dt && !is_constant))
        return Status::error(str("input '", arg->name(), "' has type ", arg->type().toString(), ", which oneDNN steps do not take"));
      TensorSlot t;
      // A constant of a type oneDNN lacks (an i64 shape or split-sizes operand) is only looked at
      // by lowerings, never given to a primitive: its bytes are described as u8.
      t.md = dt ? plainDesc(dimsOf(arg->type()), *dt)
                : plainDesc({static_cast<memory::dim>(dtypeStorageBytes(arg->type().dtype, arg->type().shape.numElements()))},
                            memory::data_type::u8);
      t.kind = constants[static_cast<size_t>(i)] ? TensorSlot::Kind::Constant : TensorSlot::Kind::Input;
      t.index = i;
      t.borrowed = constants[static_cast<size_t>(i)];
      b.bind(arg, b.add(std::move(t)));
    }
    // Elementwise chains run as one primitive, lowered where their last op is (every operand is
    // lowered by then; their intermediate results have no other readers).
    std::map<const Op*, std::vector<const Op*>> chain_ending_at;
    std::set<const Op*> in_chain;
    for (const auto& op : body.ops()) {
      if (in_chain.count(op.get())) continue;
      std::vector<const Op*> chain = elementwiseChain(*op);
      // An op both chains could take (Add(Mul(a, c), Mul(b, d))) stays with the first.
      auto taken = std::find_if(chain.begin(), chain.end(), [&](const Op* m) { return in_chain.count(m) > 0; });
      chain.erase(taken, chain.end());
      if (chain.size() < 2) continue;
      in_chain.insert(chain.begin(), chain.end());
      chain_ending_at[chain.back()] = std::move(chain);
    }
    auto lowerOne = [&](const Op& op) -> Status {
      Lowering lower = loweringFor(op.kind());
      if (!lower) return Status::error(str(where(op), ": not run by the oneDNN library"));
      for (int r = 0; r < op.numResults(); ++r)
        if (op.result(r)->hasUses() && (!op.result(r)->type().isTensor() || !op.result(r)->type().shape.isStatic()))
          return Status::error(str(where(op), ": result ", r, " has no static shape"));
      return lower(b, op);
    };
    for (const auto& op : body.ops()) {
      auto chain = chain_ending_at.find(op.get());
      if (chain != chain_ending_at.end()) {
        Status fused = Status::error("");
        try {
          fused = lowerElementwiseChain(b, chain->second);
        } catch (const dnnl::error&) {  // a post-op combination this oneDNN lacks: one primitive per op
        }
        if (!fused.ok())
          for (const Op* member : chain->second) DLC_RETURN_IF_ERROR(lowerOne(*member));
        continue;
      }
      if (in_chain.count(op.get())) continue;  // lowered with its chain
      DLC_RETURN_IF_ERROR(lowerOne(*op));
    }
    for (int i = 0; i < body.numOutputs(); ++i) {
      DLC_ASSIGN_OR_RETURN(int t, b.tensorOf(body.output(i)));
      TensorSlot out;
      out.md = plainDesc(b.md(t).dims(), b.md(t).data_type());
      out.kind = TensorSlot::Kind::Output;
      out.index = i;
      out.rank = body.output(i)->type().shape.rank();
      out.dtype_code = static_cast<int32_t>(dtypeToOnnxCode(body.output(i)->type().dtype));
      // An intermediate the segment computed in plain layout is written straight into the output
      // buffer (its views follow it); inputs, weights, blocked or repeated results are copied.
      TensorSlot& computed = program->tensors_[static_cast<size_t>(t)];
      bool repeated = std::find(program->outputs_.begin(), program->outputs_.end(), t) != program->outputs_.end();
      if (computed.kind == TensorSlot::Kind::Internal && computed.root < 0 && computed.md == out.md && !repeated) {
        computed.kind = TensorSlot::Kind::Output;
        computed.index = out.index;
        computed.rank = out.rank;
        computed.dtype_code = out.dtype_code;
        program->outputs_.push_back(t);
        continue;
      }
      int o = b.add(std::move(out));
      const Op* producer = body.output(i)->definingOp();
      DLC_RETURN_IF_ERROR(b.copy(t, o, producer ? *producer : *body.ops().front()));
      program->outputs_.push_back(o);
    }
  } catch (const dnnl::error& e) {
    return Status::error(str("oneDNN: ", e.what()));
  }
  size_t scratch = 0;
  for (const Exec& e : program->execs_) scratch = std::max(scratch, e.scratchpad.get_size());
  program->scratch_offset_ = planWorkspace(program->tensors_);
  program->workspace_bytes_ = program->scratch_offset_ + (scratch + 63) / 64 * 64;
  return program;
}

Status Program::run(const dlc_kernel_io& io) const {
  char* ws = nullptr;
  if (workspace_bytes_) {
    ws = static_cast<char*>(io.workspace(io.runtime, workspace_bytes_));
    if (!ws) return Status::error("no workspace");
  }
  std::vector<void*> handle(tensors_.size(), nullptr);
  for (size_t i = 0; i < tensors_.size(); ++i) {
    const TensorSlot& t = tensors_[i];
    const TensorSlot& r = t.root >= 0 ? tensors_[static_cast<size_t>(t.root)] : t;
    switch (r.kind) {
      case TensorSlot::Kind::Input:
        if (r.index >= io.num_inputs) return Status::error("missing input");
        handle[i] = io.inputs[r.index].data;
        break;
      case TensorSlot::Kind::Constant: handle[i] = const_cast<void*>(r.owned ? r.owned.get() : r.borrowed); break;
      case TensorSlot::Kind::Internal: handle[i] = ws + t.offset; break;
      case TensorSlot::Kind::Output: break;  // below
    }
  }
  for (int o : outputs_) {
    const TensorSlot& t = tensors_[static_cast<size_t>(o)];
    memory::dims dims = t.md.dims();
    handle[static_cast<size_t>(o)] =
        io.output_allocate(io.runtime, t.index, t.dtype_code, t.rank == 0 ? 0 : static_cast<int32_t>(dims.size()), dims.data());
    if (!handle[static_cast<size_t>(o)]) return Status::error("the runtime refused an output");
  }
  for (size_t i = 0; i < tensors_.size(); ++i) {  // views of outputs
    int root = tensors_[i].root;
    if (root >= 0 && tensors_[static_cast<size_t>(root)].kind == TensorSlot::Kind::Output) handle[i] = handle[static_cast<size_t>(root)];
  }
  try {
    omp_set_num_threads(std::max(1, io.threads));
    dnnl::stream stream(cpuEngine());
    std::vector<memory> mem(tensors_.size());
    std::vector<char> made(tensors_.size(), 0);
    auto memOf = [&](int t) -> memory& {
      if (!made[static_cast<size_t>(t)]) {
        mem[static_cast<size_t>(t)] = memory(tensors_[static_cast<size_t>(t)].md, cpuEngine(), handle[static_cast<size_t>(t)]);
        made[static_cast<size_t>(t)] = 1;
      }
      return mem[static_cast<size_t>(t)];
    };
    memory scratch;
    for (const Exec& e : execs_) {
      if (e.host) {
        stream.wait();
        std::vector<void*> data;
        for (const auto& [position, t] : e.args) data.push_back(memOf(t).get_data_handle());
        e.host(data.data());
        continue;
      }
      std::unordered_map<int, memory> args;
      for (const auto& [arg, t] : e.args) args[arg] = memOf(t);
      if (e.scratchpad.get_size()) args[DNNL_ARG_SCRATCHPAD] = memory(e.scratchpad, cpuEngine(), ws + scratch_offset_);
      e.primitive.execute(stream, args);
    }
    stream.wait();
  } catch (const dnnl::error& e) {
    return Status::error(str("oneDNN: ", e.what()));
  }
  return Status::success();
}

}  // namespace dlc::onednn
