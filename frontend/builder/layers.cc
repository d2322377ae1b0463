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

Var Conv2d::operator()(Var x) const {
  if (!x.model()) return Var();
  std::vector<Var> operands = {x, weight_};
  if (bias_.valid()) operands.push_back(bias_);
  return x.model()->op1(OpKind::Conv, operands,
                        {{"strides", Attribute::ofInts({stride_, stride_})},
                         {"pads", Attribute::ofInts({pad_, pad_, pad_, pad_})},
                         {"dilations", Attribute::ofInts({dilation_, dilation_})},
                         {"group", Attribute::ofInt(groups_)}});
}

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

}  // namespace dlc::builder
