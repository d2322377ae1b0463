// Op-by-op tests of a code-generating target against the reference kernels: a small graph built
// with random inputs and weights, compiled for the target, run through libdlcrt and compared with
// the interpreter. Every step must be the target's own (a silent fallback to the reference
// kernels would pass the comparison and test nothing).
#pragma once

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <optional>
#include <random>
#include <thread>

#include "backends/artifact_writer.h"
#include "backends/reference/interpreter.h"
#include "dlc/runtime.hpp"
#include "ir/builder.h"
#include "ir/dtype_onnx.h"
#include "passes/pass_manager.h"

namespace dlc::testing {

// Registers the kernel libraries the test executable links (defined by each test file).
void registerTestLibraries();

class BackendCase {
 public:
  BackendCase(std::string target, uint32_t seed) : target_(std::move(target)), b_(graph_.body()), rng_(seed) {}

  Value* input(std::vector<int64_t> dims, float lo = -1, float hi = 1, DType dtype = DType::F32) {
    Tensor t = random(dims, lo, hi, dtype);
    inputs_.push_back(t);
    return b_.addInput(str("in", inputs_.size()), Type::tensor(dtype, Shape::of(dims)));
  }
  // An input whose dims may be symbolic (Dim::sym("N")), for checkBindings: its data is drawn per
  // binding of the symbols.
  Value* symbolicInput(std::vector<Dim> dims, float lo = -1, float hi = 1) {
    symbolic_.push_back({dims, lo, hi});
    return b_.addInput(str("in", symbolic_.size()), Type::tensor(DType::F32, Shape(std::move(dims))));
  }
  Value* weight(std::vector<int64_t> dims, float lo = -1, float hi = 1, DType dtype = DType::F32) {
    return b_.constant(random(dims, lo, hi, dtype));
  }
  // A weight with about `density` of its elements nonzero (a pruned layer).
  Value* sparseWeight(std::vector<int64_t> dims, double density) {
    Tensor t = random(dims, -1, 1, DType::F32);
    float* p = static_cast<float*>(t.raw());
    std::uniform_real_distribution<double> u(0, 1);
    for (int64_t i = 0; i < t.numel(); ++i)
      if (u(rng_) >= density) p[i] = 0.0f;
    return b_.constant(t);
  }
  Value* scalarOf(DType dtype, double v) { return b_.constant(Tensor::scalar(dtype, v)); }
  Value* scalar(float v) { return b_.constant(Tensor::scalar(DType::F32, v)); }
  Value* ints(std::vector<int64_t> v) {
    return b_.constant(Tensor::fromVector<int64_t>(DType::I64, {static_cast<int64_t>(v.size())}, v));
  }
  Op* op(OpKind kind, std::vector<Value*> operands, std::map<std::string, Attribute> attrs = {}, int results = 1) {
    auto o = b_.create(kind, std::move(operands), std::move(attrs), results, str(opName(kind), n_++));
    EXPECT_TRUE(o.ok()) << o.status().message();
    return o.ok() ? *o : nullptr;
  }
  Value* op1(OpKind kind, std::vector<Value*> operands, std::map<std::string, Attribute> attrs = {}) {
    Op* o = op(kind, std::move(operands), std::move(attrs));
    return o ? o->result() : nullptr;
  }
  void output(Value* v) { b_.addOutput(v); }
  void setCpu(std::string cpu) { cpu_ = std::move(cpu); }  // --cpu for the cpu target
  void allowReference() { allowLibrary("reference"); }     // steps may also be reference ones
  void allowLibrary(std::string library) { allowed_.push_back(std::move(library)); }  // or this library's
  const std::vector<std::string>& stepLibraries() const { return libraries_; }
  // Runs passes over the graph before it is compiled (e.g. to form fused regions).
  void runPasses(const std::vector<std::string>& names) {
    passes::PassManager pm;
    ASSERT_TRUE(pm.add(names).ok());
    passes::PassContext ctx;
    Status s = pm.run(graph_, ctx);
    ASSERT_TRUE(s.ok()) << s.message();
  }
  bool has(OpKind kind) const {
    for (const auto& op : graph_.body().ops())
      if (op->kind() == kind) return true;
    return false;
  }

  int pick(int lo, int hi) { return std::uniform_int_distribution<int>(lo, hi)(rng_); }
  bool coin() { return pick(0, 1) == 1; }

  // Compiles for the target, checks that every step is one of its library's, runs through libdlcrt and
  // compares with the interpreter: |got - want| <= rel * max|want| + 1e-6.
  // Integer outputs may differ by one step (rounding of the rescaled accumulator): `int_steps`.
  // `steps`, when given, is how many steps the artifact must have (one: a single segment).
  void check(const std::string& what, double rel = 1e-4, double int_steps = 1, size_t steps = 0) {
    SCOPED_TRACE(what);
    std::optional<runtime::Model> model = compileAndLoad(steps);
    if (!model) return;
    runAndCompare(*model, inputs_, rel, int_steps);
  }

  // The graph has symbolicInput()s (and no static ones): compiles it once and, for each binding of
  // its symbols, runs it on inputs of those sizes through one session (so that programs built for
  // earlier shapes stay cached beside the new ones) and compares with the interpreter.
  void checkBindings(const std::string& what, const std::vector<SymbolSizes>& bindings, double rel = 1e-4, size_t steps = 0) {
    SCOPED_TRACE(what);
    ASSERT_TRUE(inputs_.empty()) << "checkBindings takes symbolic inputs only";
    std::optional<runtime::Model> model = compileAndLoad(steps);
    if (!model) return;
    runtime::Session session(*model, 2);
    for (const SymbolSizes& binding : bindings) {
      std::string sizes;
      for (const auto& [name, size] : binding) sizes += str(sizes.empty() ? "" : ", ", name, "=", size);
      SCOPED_TRACE(sizes);
      runAndCompare(*model, draw(binding), rel, 1, &session);
    }
  }

 private:
  struct SymbolicInput {
    std::vector<Dim> dims;
    float lo, hi;
  };

  // Compiles for the target and checks that every step is one of its library's; none on failure.
  std::optional<runtime::Model> compileAndLoad(size_t steps) {
    backends::ArtifactOptions options;
    options.target = target_;
    options.compile.cpu = cpu_;
    auto bytes = backends::writeArtifact(graph_, options);
    EXPECT_TRUE(bytes.ok()) << bytes.status().message();
    if (!bytes.ok()) return std::nullopt;
    registerTestLibraries();
    auto model = runtime::Model::loadMemory(bytes->data(), bytes->size());
    dlc_model_stats stats;
    dlc_model_stats_get(model.get(), &stats);
    EXPECT_GT(stats.steps, 0u);
    if (steps) EXPECT_EQ(stats.steps, steps) << "the ops did not stay in one segment";
    for (size_t i = 0; i < stats.steps; ++i) {
      const char *library, *kernel, *location;
      runtime::check(dlc_model_step_describe(model.get(), i, &library, &kernel, &location));
      libraries_.push_back(library);
      if (std::find(allowed_.begin(), allowed_.end(), libraries_.back()) != allowed_.end()) continue;
      EXPECT_STREQ(library, target_.c_str()) << "step " << i << " (" << location << ") fell back to the reference kernels";
    }
    return std::optional<runtime::Model>(std::move(model));
  }

  // Runs `inputs` (in a new session, or `reuse`) and compares with the interpreter:
  // |got - want| <= rel * max|want| + 1e-6; integer outputs within `int_steps`.
  void runAndCompare(const runtime::Model& model, const std::vector<Tensor>& inputs, double rel, double int_steps,
                     runtime::Session* reuse = nullptr) {
    std::optional<runtime::Session> own;
    if (!reuse) own.emplace(model, 2);
    runtime::Session& session = reuse ? *reuse : *own;
    for (size_t i = 0; i < inputs.size(); ++i)
      session.bindInput(i, static_cast<int32_t>(dtypeToOnnxCode(inputs[i].dtype())), inputs[i].shape(), inputs[i].raw(),
                        inputs[i].nbytes());
    session.run();
    std::vector<DataValue> in;
    for (const Tensor& t : inputs) in.push_back(DataValue::ofTensor(t));
    auto want = ref::Interpreter(graph_).run(in);
    ASSERT_TRUE(want.ok()) << want.status().message();
    for (size_t o = 0; o < want->size(); ++o) {
      std::string mismatch = compareOutput((*want)[o].tensor, session.output(o), rel, int_steps);
      EXPECT_TRUE(mismatch.empty()) << "output " << o << ": " << mismatch;
    }
  }

  // Empty when `out` matches `w`: same shape and dtype, |got - want| <= rel * max|want| + 1e-6
  // (integers within `int_steps`); else what differs.
  static std::string compareOutput(const Tensor& w, const dlc_tensor& out, double rel, double int_steps) {
    if (std::vector<int64_t>(out.shape, out.shape + out.rank) != w.shape()) return "shape differs";
    if (out.dtype != dtypeToOnnxCode(w.dtype())) return "dtype differs";
    Tensor g = Tensor::fromBytes(w.dtype(), w.shape(), out.data, out.bytes);
    double max_ref = 0, max_err = 0;
    for (int64_t i = 0; i < w.numel(); ++i) {
      max_ref = std::max(max_ref, std::abs(w.getDouble(i)));
      max_err = std::max(max_err, std::abs(g.getDouble(i) - w.getDouble(i)));
    }
    double bound = isFloat(w.dtype()) ? rel * max_ref + 1e-6 : int_steps;
    return max_err <= bound ? "" : str("max error ", max_err, ", max|ref| ", max_ref);
  }

 public:
  // Compiles the symbolic graph and runs it once at `binding`: the run's error ("" when it ran).
  std::string runFailure(const SymbolSizes& binding) {
    std::optional<runtime::Model> model = compileAndLoad(0);
    if (!model) return "it did not compile";
    std::vector<Tensor> inputs = draw(binding);
    try {
      runtime::Session session(*model, 1);
      for (size_t i = 0; i < inputs.size(); ++i)
        session.bindInput(i, static_cast<int32_t>(dtypeToOnnxCode(inputs[i].dtype())), inputs[i].shape(), inputs[i].raw(),
                          inputs[i].nbytes());
      session.run();
    } catch (const std::exception& e) {
      return e.what();
    }
    return "";
  }

  // As checkBindings, from `threads` threads at once, each with a session of its own going through
  // the bindings `rounds` times from a different start: programs for a shape are built, shared and
  // (with more bindings than a step keeps) dropped while other sessions run.
  void checkBindingsConcurrently(const std::string& what, const std::vector<SymbolSizes>& bindings, int threads, int rounds,
                                 double rel = 1e-4) {
    SCOPED_TRACE(what);
    ASSERT_TRUE(inputs_.empty()) << "checkBindingsConcurrently takes symbolic inputs only";
    std::optional<runtime::Model> model = compileAndLoad(0);
    if (!model) return;
    std::vector<std::vector<Tensor>> inputs, wants;
    for (const SymbolSizes& binding : bindings) {
      inputs.push_back(draw(binding));
      std::vector<DataValue> in;
      for (const Tensor& t : inputs.back()) in.push_back(DataValue::ofTensor(t));
      auto want = ref::Interpreter(graph_).run(in);
      ASSERT_TRUE(want.ok()) << want.status().message();
      wants.emplace_back();
      for (const DataValue& v : *want) wants.back().push_back(v.tensor);
    }
    std::vector<std::string> failures(static_cast<size_t>(threads));
    std::vector<std::thread> pool;
    for (int t = 0; t < threads; ++t)
      pool.emplace_back([&, t] {
        try {
          runtime::Session session(*model, 1);
          for (int r = 0; r < rounds; ++r)
            for (size_t k = 0; k < bindings.size(); ++k) {
              size_t b = (k + static_cast<size_t>(t) * 5) % bindings.size();
              for (size_t i = 0; i < inputs[b].size(); ++i)
                session.bindInput(i, static_cast<int32_t>(dtypeToOnnxCode(inputs[b][i].dtype())), inputs[b][i].shape(),
                                  inputs[b][i].raw(), inputs[b][i].nbytes());
              session.run();
              for (size_t o = 0; o < wants[b].size(); ++o) {
                std::string mismatch = compareOutput(wants[b][o], session.output(o), rel, 1);
                if (!mismatch.empty() && failures[static_cast<size_t>(t)].empty())
                  failures[static_cast<size_t>(t)] = str("binding ", b, " output ", o, ": ", mismatch);
              }
            }
        } catch (const std::exception& e) {
          failures[static_cast<size_t>(t)] = e.what();
        }
      });
    for (std::thread& th : pool) th.join();
    for (int t = 0; t < threads; ++t) EXPECT_EQ(failures[static_cast<size_t>(t)], "") << "thread " << t;
  }

 private:
  // Random inputs for the symbolic inputs at `binding`'s sizes.
  std::vector<Tensor> draw(const SymbolSizes& binding) {
    std::vector<Tensor> inputs;
    for (const SymbolicInput& in : symbolic_) {
      std::vector<int64_t> dims;
      for (const Dim& d : in.dims) dims.push_back(d.isStatic() ? d.value : binding.at(d.symbol));
      inputs.push_back(random(dims, in.lo, in.hi, DType::F32));
    }
    return inputs;
  }

  Tensor random(const std::vector<int64_t>& dims, float lo, float hi, DType dtype) {
    Tensor t(DType::F32, dims);
    std::uniform_real_distribution<float> u(lo, hi);
    for (int64_t i = 0; i < t.numel(); ++i) t.data<float>()[i] = isFloat(dtype) ? u(rng_) : std::round(u(rng_));
    return dtype == DType::F32 ? t : t.castTo(dtype);
  }

  std::string target_, cpu_;
  std::vector<std::string> allowed_;  // libraries besides the target's
  std::vector<std::string> libraries_;
  Graph graph_;
  Builder b_;
  std::mt19937 rng_;
  std::vector<Tensor> inputs_;
  std::vector<SymbolicInput> symbolic_;
  int n_ = 0;
};

inline const char* kActivations[] = {"none", "Relu", "LeakyRelu", "Clip", "Sigmoid", "HardSigmoid",
                              "HardSwish", "Silu", "Gelu", "Tanh"};

inline std::map<std::string, Attribute> activation(BackendCase& c, std::map<std::string, Attribute> attrs) {
  std::string act = kActivations[c.pick(0, 9)];
  attrs["activation"] = Attribute::ofString(act);
  if (act == "LeakyRelu") attrs["activation_alpha"] = Attribute::ofFloat(0.1f);
  if (act == "Clip") attrs["activation_alpha"] = Attribute::ofFloat(0.0f), attrs["activation_beta"] = Attribute::ofFloat(0.5f);
  if (act == "HardSigmoid") attrs["activation_alpha"] = Attribute::ofFloat(0.2f), attrs["activation_beta"] = Attribute::ofFloat(0.5f);
  return attrs;
}


// Sizes of the random cases below (the oneDNN tests use smaller ones than the cpu tests).
struct CaseSizes {
  int64_t channels, width, out_channels;  // convolutions: 1..channels in, 5..width, 1..out_channels out
  int64_t m, k, n;                        // matmuls
  bool batched_full_bias;                 // a full bias is [batch, M, N] (else [M, N])
};

// A random convolution (plain, grouped or depthwise; strides, dilations, padding; Conv, or
// FusedConv with a random activation and maybe a residual), its result made an output.
// Returns a description for the failure message.
inline std::string randomConvolution(BackendCase& c, const CaseSizes& z) {
  int64_t n = c.pick(1, 2), ch = c.pick(1, static_cast<int>(z.channels)), h = c.pick(5, 17), w = c.pick(5, static_cast<int>(z.width));
  int64_t k = 2 * c.pick(0, 2) + 1, stride = c.pick(1, 2), dil = c.pick(1, 2), pad = c.pick(0, static_cast<int>(k / 2));
  int64_t group = 1, oc = c.pick(1, static_cast<int>(z.out_channels));
  int kind = c.pick(0, 2);  // plain, grouped, depthwise
  if (kind == 1 && ch % 2 == 0) group = 2, oc = 2 * c.pick(1, static_cast<int>(z.out_channels / 2));
  if (kind == 2) group = ch, oc = ch * c.pick(1, 2);
  if ((h + 2 * pad - (k - 1) * dil - 1) < 0 || (w + 2 * pad - (k - 1) * dil - 1) < 0) dil = 1;
  Value* x = c.input({n, ch, h, w});
  Value* wt = c.weight({oc, ch / group, k, k});
  std::map<std::string, Attribute> attrs{{"strides", Attribute::ofInts({stride, stride})},
                                         {"dilations", Attribute::ofInts({dil, dil})},
                                         {"pads", Attribute::ofInts({pad, pad, pad, pad})},
                                         {"group", Attribute::ofInt(group)}};
  bool fused = c.coin();
  std::vector<Value*> operands{x, wt};
  if (c.coin()) operands.push_back(c.weight({oc}));
  if (fused) {
    attrs = activation(c, attrs);
    if (c.coin()) {  // residual of the output's shape, from another input
      if (operands.size() == 2) operands.push_back(nullptr);
      int64_t oh = (h + 2 * pad - (k - 1) * dil - 1) / stride + 1, ow = (w + 2 * pad - (k - 1) * dil - 1) / stride + 1;
      operands.push_back(c.input({n, oc, oh, ow}));
    }
  }
  c.output(c.op1(fused ? OpKind::FusedConv : OpKind::Conv, operands, attrs));
  return str(n, "x", ch, "x", h, "x", w, " k", k, " s", stride, " d", dil, " p", pad, " g", group, " oc", oc, fused ? " fused" : "");
}

// A random FusedMatMul: batched A, 2-D B (a weight or an input), transposes, bias none/[N]/full,
// alpha, residual, activation.
inline std::string randomMatMul(BackendCase& c, const CaseSizes& z) {
  int64_t m = c.pick(1, static_cast<int>(z.m)), k = c.pick(1, static_cast<int>(z.k)), n = c.pick(1, static_cast<int>(z.n));
  int64_t batch = c.pick(1, 3);
  bool trans_a = c.coin(), trans_b = c.coin(), weights_const = c.coin();
  std::vector<int64_t> ad = trans_a ? std::vector<int64_t>{batch, k, m} : std::vector<int64_t>{batch, m, k};
  std::vector<int64_t> bd = trans_b ? std::vector<int64_t>{n, k} : std::vector<int64_t>{k, n};
  Value* a = c.input(ad);
  Value* b = weights_const ? c.weight(bd) : c.input(bd);
  std::map<std::string, Attribute> attrs = activation(c, {{"transA", Attribute::ofInt(trans_a)}, {"transB", Attribute::ofInt(trans_b)}});
  std::vector<Value*> operands{a, b};
  int bias = c.pick(0, 2);  // none, [N], full
  if (bias == 1) operands.push_back(c.weight({n}));
  if (bias == 2) operands.push_back(z.batched_full_bias ? c.weight({batch, m, n}) : c.weight({m, n}));
  if ((bias == 0 || z.batched_full_bias) && c.coin()) attrs["alpha"] = Attribute::ofFloat(0.5f);
  if (c.coin()) {
    if (operands.size() == 2) operands.push_back(nullptr);
    operands.push_back(c.input({batch, m, n}));
  }
  c.output(c.op1(OpKind::FusedMatMul, operands, attrs));
  return str("[", batch, ",", m, ",", k, "]x[", k, ",", n, "] tA", trans_a, " tB", trans_b, " bias", bias,
             weights_const ? " packed" : "");
}

// A random MaxPool/AveragePool (kernel, stride, padding, ceil mode, dilation, count_include_pad).
inline std::string randomPooling(BackendCase& c, int64_t max_width) {
  int64_t h = c.pick(4, 15), w = c.pick(4, static_cast<int>(max_width)), k = c.pick(1, 3), s = c.pick(1, 3),
          p = c.pick(0, static_cast<int>(k - 1));
  bool ceil_mode = c.coin(), is_max = c.coin();
  Value* x = c.input({c.pick(1, 2), c.pick(1, 19), h, w});
  std::map<std::string, Attribute> attrs{{"kernel_shape", Attribute::ofInts({k, k})}, {"strides", Attribute::ofInts({s, s})},
                                         {"pads", Attribute::ofInts({p, p, p, p})}, {"ceil_mode", Attribute::ofInt(ceil_mode)}};
  if (is_max && c.coin() && !ceil_mode) attrs["dilations"] = Attribute::ofInts({2, 2});
  if (!is_max && !ceil_mode) attrs["count_include_pad"] = Attribute::ofInt(c.pick(0, 1));
  c.output(c.op1(is_max ? OpKind::MaxPool : OpKind::AveragePool, {x}, attrs));
  return str(is_max ? "max" : "avg", " k", k, " s", s, " p", p, " ceil", ceil_mode);
}

// conv -> relu -> max pool -> depthwise FusedConv (Clip, residual) -> add -> per-channel mul ->
// global pool -> flatten -> matmul, with the pooled intermediate also an output: one segment
// whose intermediates must flow between kernels intact.
// `x` is a [*, 3, 20, 20] input (a new [1, 3, 20, 20] one by default).
inline void smallCnn(BackendCase& c, Value* x = nullptr) {
  int64_t ch = 16 + c.pick(0, 9);
  if (!x) x = c.input({1, 3, 20, 20});
  Value* y = c.op1(OpKind::Conv, {x, c.weight({ch, 3, 3, 3}), c.weight({ch})}, {{"pads", Attribute::ofInts({1, 1, 1, 1})}});
  y = c.op1(OpKind::Relu, {y});
  y = c.op1(OpKind::MaxPool, {y}, {{"kernel_shape", Attribute::ofInts({2, 2})}, {"strides", Attribute::ofInts({2, 2})}});
  Value* z = c.op1(OpKind::FusedConv, {y, c.weight({ch, 1, 3, 3}), c.weight({ch}), y},
                   {{"pads", Attribute::ofInts({1, 1, 1, 1})}, {"group", Attribute::ofInt(ch)}, {"activation", Attribute::ofString("Clip")},
                    {"activation_alpha", Attribute::ofFloat(0.0f)}, {"activation_beta", Attribute::ofFloat(6.0f)}});
  z = c.op1(OpKind::Add, {z, y});
  z = c.op1(OpKind::Mul, {z, c.weight({1, ch, 1, 1})});
  z = c.op1(OpKind::GlobalAveragePool, {z});
  z = c.op1(OpKind::Flatten, {z});
  z = c.op1(OpKind::FusedMatMul, {z, c.weight({10, ch}), c.weight({10})}, {{"transB", Attribute::ofInt(1)}});
  c.output(z);
  c.output(y);
}

// An encoder block over a [N, S, 24] input with symbolic batch and sequence: QKV projection, Split,
// Attention, residual, LayerNorm, a [1, S, 24] position input broadcast over the batch, Gelu.
// Returns the Gelu's value (the caller adds outputs).
inline Value* symbolicEncoderBlock(BackendCase& t) {
  const Dim n = Dim::sym("N"), s = Dim::sym("S");
  Value* x = t.symbolicInput({n, s, Dim::of(24)});
  Value* h = t.op1(OpKind::FusedMatMul, {x, t.weight({24, 72}), t.weight({72})});
  Op* qkv = t.op(OpKind::Split, {h, t.ints({24, 24, 24})}, {{"axis", Attribute::ofInt(-1)}}, 3);
  Value* a = t.op1(OpKind::Attention, {qkv->result(0), qkv->result(1), qkv->result(2)}, {{"num_heads", Attribute::ofInt(3)}});
  Value* r = t.op1(OpKind::Add, {a, x});
  Value* ln = t.op1(OpKind::LayerNormalization, {r, t.weight({24}), t.weight({24})}, {{"axis", Attribute::ofInt(-1)}});
  Value* pos = t.symbolicInput({Dim::of(1), s, Dim::of(24)});
  return t.op1(OpKind::Gelu, {t.op1(OpKind::Add, {ln, pos})});
}

}  // namespace dlc::testing
