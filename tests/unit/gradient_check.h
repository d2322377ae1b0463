// Test helper: checks reverse-mode gradients against central finite differences in f64.
//
// A case builds ops on f64 inputs; the checked function is L = Σ wᵢ·outᵢ over the outputs it marks,
// with fixed random weights w (so every output element matters differently). The autodiff pass
// adds dL/dx for every differentiated input; each element is then compared with
// (L(x + h) − L(x − h)) / 2h computed by re-running the graph on the reference interpreter.
#pragma once

#include <gtest/gtest.h>

#include <cmath>
#include <random>
#include <set>
#include <string>
#include <vector>

#include "backends/reference/interpreter.h"
#include "ir/builder.h"
#include "ir/verifier.h"
#include "passes/autodiff/autodiff.h"

namespace dlc::testing {

// Op kinds that some gradient case exercised, for the coverage test.
inline std::set<OpKind>& checkedGradientOps() {
  static std::set<OpKind> s;
  return s;
}

class GradCase {
 public:
  explicit GradCase(uint32_t seed = 1) : rng_(seed), b_(g_.body()) {}

  // A differentiated f64 input with values uniform in [lo, hi].
  Value* input(std::vector<int64_t> shape, double lo = -1, double hi = 1) {
    Value* v = fixed(shape, lo, hi);
    wrt_.push_back(v);
    return v;
  }
  // An f64 input that is not differentiated (a mask, a target).
  Value* fixed(std::vector<int64_t> shape, double lo = -1, double hi = 1) {
    Tensor t(DType::F64, shape);
    std::uniform_real_distribution<double> u(lo, hi);
    for (int64_t i = 0; i < t.numel(); ++i) t.data<double>()[i] = u(rng_);
    return addInput(t);
  }
  // An input holding exactly `t` (indices, booleans, distinct values).
  Value* addInput(const Tensor& t, bool differentiate = false) {
    Value* v = b_.addInput(str("in", inputs_.size()), Type::tensor(t.dtype(), Shape::of(t.shape())));
    inputs_.push_back(t);
    if (differentiate) wrt_.push_back(v);
    return v;
  }
  Value* ints(std::vector<int64_t> v) { return b_.constant(Tensor::fromVector(DType::I64, {static_cast<int64_t>(v.size())}, v)); }
  Value* scalar(double v) { return b_.constant(Tensor::scalar(DType::F64, v)); }

  // Creates an op (recording its kind as checked); returns its results.
  std::vector<Value*> op(OpKind kind, std::vector<Value*> operands, std::map<std::string, Attribute> attrs = {},
                         int results = 1) {
    auto created = b_.create(kind, std::move(operands), std::move(attrs), results, str(opName(kind), "_", ops_++));
    if (!created.ok()) {
      ADD_FAILURE() << created.status().message();
      return std::vector<Value*>(static_cast<size_t>(results), nullptr);
    }
    checkedGradientOps().insert(kind);
    std::vector<Value*> out;
    for (int i = 0; i < results; ++i) out.push_back((*created)->result(i));
    return out;
  }
  Value* op1(OpKind kind, std::vector<Value*> operands, std::map<std::string, Attribute> attrs = {}) {
    return op(kind, std::move(operands), std::move(attrs), 1)[0];
  }
  // Marks a value as part of L.
  void out(Value* v) {
    if (v) outs_.push_back(v);
  }

  // Builds L and the gradients, then compares every element with central differences:
  // |ad − fd| <= tol·max(1, |fd|).
  void check(const std::string& what, double tol = 1e-6, double h = 1e-6) {
    SCOPED_TRACE(what);
    ASSERT_FALSE(outs_.empty());
    Value* loss = nullptr;
    for (Value* o : outs_) {
      Tensor w(o->type().dtype, o->type().shape.staticSizes());
      std::uniform_real_distribution<double> u(0.5, 1.5);
      for (int64_t i = 0; i < w.numel(); ++i) w.setDouble(i, u(rng_) * (i % 2 ? -1 : 1));
      Value* term = b_.create1(OpKind::ReduceSum, {b_.create1(OpKind::Mul, {o, b_.constant(w)}).value()},
                               {{"keepdims", Attribute::ofInt(0)}}).value();
      loss = loss ? b_.create1(OpKind::Add, {loss, term}).value() : term;
    }
    auto grads = autodiff::gradients(loss, nullptr, wrt_);
    ASSERT_TRUE(grads.ok()) << grads.status().message();
    b_.addOutput(loss);
    for (Value* gv : *grads) b_.addOutput(gv);
    Status verified = verifyGraph(g_);
    ASSERT_TRUE(verified.ok()) << verified.message();
    ref::Interpreter interp(g_);
    auto run = [&](const std::vector<Tensor>& in) {
      std::vector<DataValue> feeds;
      for (const Tensor& t : in) feeds.push_back(DataValue::ofTensor(t));
      return interp.run(feeds);
    };
    auto base = run(inputs_);
    ASSERT_TRUE(base.ok()) << base.status().message();
    for (size_t k = 0; k < wrt_.size(); ++k) {
      size_t idx = 0;
      while (g_.body().argument(static_cast<int>(idx)) != wrt_[k]) ++idx;
      const Tensor& ad = (*base)[1 + k].tensor;
      ASSERT_EQ(ad.shape(), inputs_[idx].shape()) << "gradient " << k;
      for (int64_t e = 0; e < inputs_[idx].numel(); ++e) {
        std::vector<Tensor> plus = inputs_, minus = inputs_;
        plus[idx] = inputs_[idx].clone();
        minus[idx] = inputs_[idx].clone();
        plus[idx].setDouble(e, inputs_[idx].getDouble(e) + h);
        minus[idx].setDouble(e, inputs_[idx].getDouble(e) - h);
        auto lp = run(plus), lm = run(minus);
        ASSERT_TRUE(lp.ok() && lm.ok());
        double fd = ((*lp)[0].tensor.getDouble(0) - (*lm)[0].tensor.getDouble(0)) / (2 * h);
        double got = ad.getDouble(e);
        ASSERT_LE(std::abs(got - fd), tol * std::max(1.0, std::abs(fd)))
            << "d/d input " << k << " element " << e << ": autodiff " << got << ", finite difference " << fd;
      }
    }
  }

  Graph& graph() { return g_; }
  Builder& builder() { return b_; }
  std::mt19937& rng() { return rng_; }

 private:
  std::mt19937 rng_;
  Graph g_;
  Builder b_;
  std::vector<Tensor> inputs_;
  std::vector<Value*> wrt_, outs_;
  int ops_ = 0;
};

inline Attribute ints(std::vector<int64_t> v) { return Attribute::ofInts(std::move(v)); }

// The cases, registered by the test files ("family/name"), so one test can also check that every
// rule of passes/autodiff/gradients.def is exercised by some case.
struct GradCaseDef {
  std::string name;
  void (*build)(GradCase& c);
  double tol = 1e-6;
  double h = 1e-6;  // the finite-difference step
};
inline std::vector<GradCaseDef>& gradCases() {
  static std::vector<GradCaseDef> cases;
  return cases;
}
struct RegisterGradCases {
  RegisterGradCases(std::initializer_list<GradCaseDef> defs) {
    for (const auto& d : defs) gradCases().push_back(d);
  }
};

// Runs every registered case whose name starts with `family` + "/".
inline void checkGradFamily(const std::string& family) {
  int n = 0;
  for (const GradCaseDef& d : gradCases()) {
    if (d.name.rfind(family + "/", 0) != 0) continue;
    GradCase c(static_cast<uint32_t>(++n));
    d.build(c);
    c.check(d.name, d.tol, d.h);
  }
  EXPECT_GT(n, 0) << "no cases in family " << family;
}

}  // namespace dlc::testing
