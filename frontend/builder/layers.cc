// Layers of the builder API: parameters created at construction, ops emitted per call.
#include <cmath>

#include "frontend/builder/model.h"

namespace dlc::builder {

Linear::Linear(Model& m, const std::string& name, int64_t in_features, int64_t out_features, bool bias) {
  float bound = 1.0f / std::sqrt(static_cast<float>(in_features));
  weight_ = m.parameter(name + ".weight", {in_features, out_features}, bound);
  if (bias) bias_ = m.parameter(name + ".bias", {out_features}, bound);
}

Var Linear::operator()(Var x) const {
  Var y = matmul(x, weight_);
  return bias_.valid() ? add(y, bias_) : y;
}

Conv2d::Conv2d(Model& m, const std::string& name, int64_t in_channels, int64_t out_channels, int64_t kernel,
               int64_t stride, int64_t pad, int64_t groups, int64_t dilation, bool bias)
    : stride_(stride), pad_(pad), groups_(groups), dilation_(dilation) {
  if (groups <= 0 || in_channels % groups != 0 || out_channels % groups != 0) {
    m.fail(Status::error(str("Conv2d '", name, "': channels ", in_channels, "->", out_channels,
                             " are not divisible by groups ", groups)));
    return;
  }
  int64_t fan_in = in_channels / groups * kernel * kernel;
  float bound = 1.0f / std::sqrt(static_cast<float>(fan_in));
  weight_ = m.parameter(name + ".weight", {out_channels, in_channels / groups, kernel, kernel}, bound);
  if (bias) bias_ = m.parameter(name + ".bias", {out_channels}, bound);
}

Var Conv2d::operator()(Var x) const { return conv2d(x, weight_, bias_, stride_, pad_, groups_, dilation_); }

BatchNorm2d::BatchNorm2d(Model& m, const std::string& name, int64_t channels, float eps) : eps_(eps) {
  // Inference-mode statistics: scale 1, bias 0, mean 0, variance 1 (PyTorch's initial state).
  auto filled = [&](const char* suffix, float v) {
    Tensor t(DType::F32, {channels});
    for (int64_t i = 0; i < channels; ++i) t.data<float>()[i] = v;
    return m.constant(t, name + suffix);
  };
  scale_ = filled(".weight", 1.0f);
  bias_ = filled(".bias", 0.0f);
  mean_ = filled(".running_mean", 0.0f);
  var_ = filled(".running_var", 1.0f);
}

Var BatchNorm2d::operator()(Var x) const {
  if (!x.model()) return Var();
  return x.model()->op1(OpKind::BatchNormalization, {x, scale_, bias_, mean_, var_},
                        {{"epsilon", Attribute::ofFloat(eps_)}});
}

namespace {
// A per-channel vector [C] shaped [C, 1, ...] to broadcast over x's dims after the channels.
Var perChannel(Var v, Var x) {
  int rank = x.valid() && x.type().shape.ranked ? x.type().shape.rank() : 2;
  if (rank <= 2) return v;
  std::vector<int64_t> shape{-1};
  for (int i = 2; i < rank; ++i) shape.push_back(1);
  return reshape(v, shape);
}
Var filled(Model& m, const std::string& name, int64_t n, float v) {
  Tensor t(DType::F32, {n});
  for (int64_t i = 0; i < n; ++i) t.data<float>()[i] = v;
  return m.constant(t, name);
}
}  // namespace

PReLU::PReLU(Model& m, const std::string& name, int64_t channels, int64_t) { slope_ = filled(m, name + ".weight", channels, 0.25f); }

Var PReLU::operator()(Var x) const {
  if (!x.model()) return Var();
  return x.model()->op1(OpKind::PRelu, {x, perChannel(slope_, x)});
}

InstanceNorm2d::InstanceNorm2d(Model& m, const std::string& name, int64_t channels, float eps) : eps_(eps) {
  scale_ = filled(m, name + ".weight", channels, 1.0f);
  bias_ = filled(m, name + ".bias", channels, 0.0f);
}

Var InstanceNorm2d::operator()(Var x) const {
  if (!x.model()) return Var();
  return x.model()->op1(OpKind::InstanceNormalization, {x, scale_, bias_}, {{"epsilon", Attribute::ofFloat(eps_)}});
}

GroupNorm::GroupNorm(Model& m, const std::string& name, int64_t groups, int64_t channels, float eps)
    : groups_(groups), eps_(eps) {
  if (groups <= 0 || channels % groups != 0) {
    m.fail(Status::error(str("GroupNorm '", name, "': ", channels, " channels do not split into ", groups, " groups")));
    return;
  }
  scale_ = filled(m, name + ".weight", channels, 1.0f);
  bias_ = filled(m, name + ".bias", channels, 0.0f);
}

// y = (x − mean_g) / sqrt(var_g + eps) · γ_c + β_c, mean and (biased) variance over each group's
// channels and every spatial position of one sample (torch.nn.GroupNorm).
Var GroupNorm::operator()(Var x) const {
  Var grouped = reshape(x, {0, groups_, -1});
  Var mean = reduceMean(grouped, {2}, true);
  Var centred = sub(grouped, mean);
  Var var = reduceMean(mul(centred, centred), {2}, true);
  Var normed = reshapeLike(div(centred, sqrt(add(var, eps_))), x);
  return add(mul(normed, perChannel(scale_, x)), perChannel(bias_, x));
}

LayerNorm::LayerNorm(Model& m, const std::string& name, int64_t features, float eps) : eps_(eps) {
  Tensor ones(DType::F32, {features});
  for (int64_t i = 0; i < features; ++i) ones.data<float>()[i] = 1.0f;
  scale_ = m.constant(ones, name + ".weight");
  bias_ = m.constant(Tensor(DType::F32, {features}), name + ".bias");
}

Var LayerNorm::operator()(Var x) const {
  if (!x.model()) return Var();
  return x.model()->op1(OpKind::LayerNormalization, {x, scale_, bias_},
                        {{"axis", Attribute::ofInt(-1)}, {"epsilon", Attribute::ofFloat(eps_)}});
}

RMSNorm::RMSNorm(Model& m, const std::string& name, int64_t features, float eps) : eps_(eps) {
  Tensor ones(DType::F32, {features});
  for (int64_t i = 0; i < features; ++i) ones.data<float>()[i] = 1.0f;
  scale_ = m.constant(ones, name + ".weight");
}

Var RMSNorm::operator()(Var x) const {
  if (!x.model()) return Var();
  return x.model()->op1(OpKind::RMSNormalization, {x, scale_}, {{"axis", Attribute::ofInt(-1)}, {"epsilon", Attribute::ofFloat(eps_)}});
}

}  // namespace dlc::builder
