// Example: a small CNN (conv-bn-relu blocks, a depthwise conv, pooling) built in C++ and run.
#include <cstdio>

#include "backends/reference/interpreter.h"
#include "frontend/builder/model.h"

using namespace dlc;
using namespace dlc::builder;

int main() {
  Model m("small_cnn", /*seed=*/7);
  Var x = m.input("image", DType::F32, {Dim::sym("N"), Dim::of(3), Dim::of(32), Dim::of(32)});
  Conv2d conv1(m, "conv1", 3, 16, 3, 1, 1, 1, 1, false);
  BatchNorm2d bn1(m, "bn1", 16);
  Conv2d dw(m, "dw", 16, 16, 3, 2, 1, /*groups=*/16);  // depthwise, stride 2
  Conv2d pw(m, "pw", 16, 32, 1);                         // pointwise
  Linear head(m, "head", 32, 10);
  Var h = relu(bn1(conv1(x)));
  h = relu(pw(relu(dw(h))));
  h = maxPool2d(h, 2, 2);
  h = flatten(globalAvgPool(h));
  m.output(head(h), "logits");
  auto graph = m.finish();
  if (!graph.ok()) {
    std::fprintf(stderr, "small_cnn: error: %s\n", graph.status().message().c_str());
    return 1;
  }
  Tensor image(DType::F32, {1, 3, 32, 32});
  for (int64_t i = 0; i < image.numel(); ++i) image.data<float>()[i] = static_cast<float>((i * 37) % 101) / 100.0f;
  auto out = ref::Interpreter(**graph).run({DataValue::ofTensor(image)});
  if (!out.ok()) {
    std::fprintf(stderr, "small_cnn: error: %s\n", out.status().message().c_str());
    return 1;
  }
  const Tensor& logits = (*out)[0].tensor;
  std::printf("logits [%lld x %lld]:", static_cast<long long>(logits.dim(0)), static_cast<long long>(logits.dim(1)));
  for (int c = 0; c < 10; ++c) std::printf(" %.4f", logits.data<float>()[c]);
  std::printf("\n");
  return 0;
}
