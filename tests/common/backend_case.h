// Op-by-op tests of a code-generating target against the reference kernels: a small graph built
// with random inputs and weights, compiled for the target, run through libdlcrt and compared with
// the interpreter. Every step must be the target's own (a silent fallback to the reference
// kernels would pass the comparison and test nothing).
#pragma once

#include <gtest/gtest.h>

#include <cmath>
#include <random>

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
  Value* weight(std::vector<int64_t> dims, float lo = -1, float hi = 1, DType dtype = DType::F32) {
    return b_.constant(random(dims, lo, hi, dtype));
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
  void allowReference() { allow_reference_ = true; }       // steps may also be reference ones
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
    backends::ArtifactOptions options;
    options.target = target_;
    options.compile.cpu = cpu_;
    auto bytes = backends::writeArtifact(graph_, options);
    ASSERT_TRUE(bytes.ok()) << bytes.status().message();
    registerTestLibraries();
    auto model = runtime::Model::loadMemory(bytes->data(), bytes->size());
    dlc_model_stats stats;
    dlc_model_stats_get(model.get(), &stats);
    ASSERT_GT(stats.steps, 0u);
    if (steps) EXPECT_EQ(stats.steps, steps) << "the ops did not stay in one segment";
    for (size_t i = 0; i < stats.steps; ++i) {
      const char *library, *kernel, *location;
      runtime::check(dlc_model_step_describe(model.get(), i, &library, &kernel, &location));
      libraries_.push_back(library);
      if (allow_reference_ && libraries_.back() == "reference") continue;
      EXPECT_STREQ(library, target_.c_str()) << "step " << i << " (" << location << ") fell back to the reference kernels";
    }
    runtime::Session session(model, 2);
    for (size_t i = 0; i < inputs_.size(); ++i)
      session.bindInput(i, static_cast<int32_t>(dtypeToOnnxCode(inputs_[i].dtype())), inputs_[i].shape(), inputs_[i].raw(),
                        inputs_[i].nbytes());
    session.run();
    std::vector<DataValue> in;
    for (const Tensor& t : inputs_) in.push_back(DataValue::ofTensor(t));
    auto want = ref::Interpreter(graph_).run(in);
    ASSERT_TRUE(want.ok()) << want.status().message();
    for (size_t o = 0; o < want->size(); ++o) {
      const Tensor& w = (*want)[o].tensor;
      dlc_tensor out = session.output(o);
      ASSERT_EQ(std::vector<int64_t>(out.shape, out.shape + out.rank), w.shape()) << "output " << o;
      ASSERT_EQ(out.dtype, dtypeToOnnxCode(w.dtype())) << "output " << o;
      Tensor g = Tensor::fromBytes(w.dtype(), w.shape(), out.data, out.bytes);
      double max_ref = 0, max_err = 0;
      for (int64_t i = 0; i < w.numel(); ++i) {
        max_ref = std::max(max_ref, std::abs(w.getDouble(i)));
        max_err = std::max(max_err, std::abs(g.getDouble(i) - w.getDouble(i)));
      }
      double bound = isFloat(w.dtype()) ? rel * max_ref + 1e-6 : int_steps;
      EXPECT_LE(max_err, bound) << "output " << o << ": max error " << max_err << ", max|ref| " << max_ref;
    }
  }

 private:
  Tensor random(const std::vector<int64_t>& dims, float lo, float hi, DType dtype) {
    Tensor t(DType::F32, dims);
    std::uniform_real_distribution<float> u(lo, hi);
    for (int64_t i = 0; i < t.numel(); ++i) t.data<float>()[i] = isFloat(dtype) ? u(rng_) : std::round(u(rng_));
    return dtype == DType::F32 ? t : t.castTo(dtype);
  }

  std::string target_, cpu_;
  bool allow_reference_ = false;
  std::vector<std::string> libraries_;
  Graph graph_;
  Builder b_;
  std::mt19937 rng_;
  std::vector<Tensor> inputs_;
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


}  // namespace dlc::testing
