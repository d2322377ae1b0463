// Example: an MLP for 28x28 images built with dlc's C++ API, then run on the reference backend.
#include <cstdio>
#include <cstring>
#include <fstream>

#include "backends/reference/interpreter.h"
#include "frontend/builder/model.h"
#include "ir/printer.h"

using namespace dlc;
using namespace dlc::builder;

int main(int argc, char** argv) {
  Model m("mlp", /*seed=*/42);
  Var x = m.input("image", DType::F32, {Dim::sym("N"), Dim::of(784)});
  Linear fc1(m, "fc1", 784, 256), fc2(m, "fc2", 256, 128), fc3(m, "fc3", 128, 10);
  Var logits = fc3(relu(fc2(relu(fc1(x)))));
  m.output(softmax(logits), "probabilities");
  auto graph = m.finish();
  if (!graph.ok()) {
    std::fprintf(stderr, "mlp: error: %s\n", graph.status().message().c_str());
    return 1;
  }
  if (argc == 3 && std::strcmp(argv[1], "--emit-ir") == 0) {
    std::ofstream(argv[2]) << printGraph(**graph);
    std::printf("wrote %s\n", argv[2]);
  }

  // A batch of two images: a horizontal gradient and its mirror.
  Tensor images(DType::F32, {2, 784});
  for (int i = 0; i < 784; ++i) {
    images.data<float>()[i] = static_cast<float>(i % 28) / 27.0f;
    images.data<float>()[784 + i] = 1.0f - static_cast<float>(i % 28) / 27.0f;
  }
  auto out = ref::Interpreter(**graph).run({DataValue::ofTensor(images)});
  if (!out.ok()) {
    std::fprintf(stderr, "mlp: error: %s\n", out.status().message().c_str());
    return 1;
  }
  const Tensor& probs = (*out)[0].tensor;
  for (int n = 0; n < 2; ++n) {
    double sum = 0;
    std::printf("image %d:", n);
    for (int c = 0; c < 10; ++c) {
      std::printf(" %.4f", probs.data<float>()[n * 10 + c]);
      sum += probs.data<float>()[n * 10 + c];
    }
    std::printf("  (sum %.6f)\n", sum);
  }
  return 0;
}
