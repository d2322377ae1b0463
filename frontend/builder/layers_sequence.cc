// Layers of the builder API for sequences: embeddings, recurrent layers, multi-head attention and
// the constants transformers use (causal masks, sinusoidal positions).
#include <cmath>

#include "frontend/builder/model.h"

namespace dlc::builder {

// torch initialises N(0, 1); uniform on [−√3, √3] has the same variance and the model's seed.
Embedding::Embedding(Model& m, const std::string& name, int64_t num, int64_t dim) {
  table_ = m.parameter(name + ".weight", {num, dim}, std::sqrt(3.0f));
}

Var Embedding::operator()(Var ids) const { return gather(table_, ids, 0); }

namespace {
int64_t gatesOf(Recurrent::Cell c) { return c == Recurrent::Cell::Lstm ? 4 : c == Recurrent::Cell::Gru ? 3 : 1; }
}  // namespace

Recurrent::Recurrent(Model& m, const std::string& name, Cell cell, int64_t input, int64_t hidden, bool bidirectional)
    : cell_(cell), hidden_(hidden), bidirectional_(bidirectional) {
  const int64_t dirs = bidirectional ? 2 : 1, g = gatesOf(cell);
  const float bound = 1.0f / std::sqrt(static_cast<float>(hidden));  // torch's init for all of them
  w_ = m.parameter(name + ".W", {dirs, g * hidden, input}, bound);
  r_ = m.parameter(name + ".R", {dirs, g * hidden, hidden}, bound);
  b_ = m.parameter(name + ".B", {dirs, 2 * g * hidden}, bound);
}

std::pair<Var, Var> Recurrent::operator()(Var x) const {
  Model* m = x.model();
  if (!m) return {};
  // ONNX's default layout is sequence-first ([T, N, in] -> Y [T, dirs, N, H]); ONNX Runtime's CPU
  // kernels take no other, so the batch-first interface transposes around it.
  std::map<std::string, Attribute> attrs{{"hidden_size", Attribute::ofInt(hidden_)},
                                         {"direction", Attribute::ofString(bidirectional_ ? "bidirectional" : "forward")}};
  OpKind kind = OpKind::RNN;
  if (cell_ == Cell::Lstm) kind = OpKind::LSTM;
  if (cell_ == Cell::Gru) {
    kind = OpKind::GRU;
    attrs["linear_before_reset"] = Attribute::ofInt(1);  // torch.nn.GRU's form: r ⊙ (R h + b)
  }
  auto r = m->op(kind, {transpose(x, {1, 0, 2}), w_, r_, b_}, attrs, cell_ == Cell::Lstm ? 3 : 2);
  if (r.size() < 2) return {};
  Var y = reshape(transpose(r[0], {2, 0, 1, 3}), {0, 0, -1});
  return {y, r[1]};
}

MultiheadAttention::MultiheadAttention(Model& m, const std::string& name, int64_t dim, int64_t heads)
    : q_(m, name + ".q", dim, dim), k_(m, name + ".k", dim, dim), v_(m, name + ".v", dim, dim),
      out_(m, name + ".out", dim, dim), dim_(dim), heads_(heads) {
  if (heads <= 0 || dim % heads != 0)
    m.fail(Status::error(str("MultiheadAttention '", name, "': dim ", dim, " does not split into ", heads, " heads")));
}

Var MultiheadAttention::cross(Var q_in, Var kv_in, Var mask) const {
  const int64_t d = dim_ / heads_;
  auto heads = [&](Var t) { return transpose(reshape(t, {0, 0, heads_, d}), {0, 2, 1, 3}); };  // [N, h, T, d]
  Var q = heads(q_(q_in)), k = heads(k_(kv_in)), v = heads(v_(kv_in));
  Var scores = mul(matmul(q, transpose(k, {0, 1, 3, 2})), 1.0 / std::sqrt(static_cast<double>(d)));
  if (mask.valid()) scores = add(scores, mask);
  Var context = matmul(softmax(scores, -1), v);
  return out_(reshape(transpose(context, {0, 2, 1, 3}), {0, 0, dim_}));
}

Var causalMask(Model& m, int64_t steps) {
  Tensor t(DType::F32, {steps, steps});
  for (int64_t i = 0; i < steps; ++i)
    for (int64_t j = 0; j < steps; ++j) t.data<float>()[i * steps + j] = j > i ? -1e9f : 0.0f;
  return m.constant(t);  // unnamed: not a trainable parameter
}

Var sinusoidalPositions(Model& m, int64_t steps, int64_t dim) {
  Tensor t(DType::F32, {steps, dim});
  for (int64_t p = 0; p < steps; ++p)
    for (int64_t i = 0; i < dim; ++i) {
      double angle = static_cast<double>(p) / std::pow(10000.0, static_cast<double>(i - i % 2) / static_cast<double>(dim));
      t.data<float>()[p * dim + i] = static_cast<float>(i % 2 == 0 ? std::sin(angle) : std::cos(angle));
    }
  return m.constant(t);  // unnamed: not a trainable parameter
}

}  // namespace dlc::builder
