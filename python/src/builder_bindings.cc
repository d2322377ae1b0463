// dlc._core.nn: the C++ builder (frontend/builder) for models written in Python. A builder error
// is raised at the call that made it (the C++ API keeps it sticky until finish()); a model that
// has been finished can no longer grow.
#include <cstring>
#include <memory>

#include "frontend/builder/model.h"
#include "python/src/bindings.h"

namespace dlc::python {
namespace {

namespace b = dlc::builder;

struct ModelHolder {
  std::unique_ptr<b::Model> model;
  bool finished = false;
  b::Model& get() {
    if (finished) throw Error("this model is finished: build a new dlc.nn.Model");
    return *model;
  }
};
using ModelPtr = std::shared_ptr<ModelHolder>;

// A value of a model under construction; it keeps its model alive.
struct PyVar {
  ModelPtr holder;
  b::Var var;
};

PyVar wrap(const ModelPtr& holder, b::Var v) {
  if (!holder->model->ok()) throw Error(holder->model->status().message());
  if (!v.valid()) throw Error("the builder made no value");
  return PyVar{holder, v};
}

// Checks that the values belong to one unfinished model and returns it.
ModelPtr modelOf(std::initializer_list<const PyVar*> vars) {
  ModelPtr m = (*vars.begin())->holder;
  for (const PyVar* v : vars)
    if (v->holder != m) throw Error("values of two different models cannot be combined");
  m->get();
  return m;
}

template <typename Fn>
void unary(py::module_& nn, const char* name, Fn fn, const char* doc) {
  nn.def(name, [fn](const PyVar& x) { return wrap(modelOf({&x}), fn(x.var)); }, doc);
}
template <typename Fn>
void binary(py::module_& nn, const char* name, Fn fn, const char* doc) {
  nn.def(name, [fn](const PyVar& a, const PyVar& c) { return wrap(modelOf({&a, &c}), fn(a.var, c.var)); }, doc);
}

Dim dimOf(const py::handle& h) {
  if (py::isinstance<py::str>(h)) return Dim::sym(h.cast<std::string>());
  if (h.is_none()) throw Error("an input dim is an int or a symbol name, not None");
  int64_t v = h.cast<int64_t>();
  if (v < 0) throw Error("an input dim must be >= 0 or a symbol name");
  return Dim::of(v);
}

DType dtypeArg(const std::string& name) {
  auto d = dtypeFromName(name);
  if (!d) throw Error("unknown dtype '" + name + "' (f32, f16, bf16, f64, i8, u8, i32, i64, bool, ...)");
  return *d;
}

Tensor tensorOf(const py::array& value) {
  auto dtype = dtypeOfNumpy(value.dtype());
  if (!dtype) throw Error("a constant's dtype must be a NumPy numeric or bool type");
  py::array a = py::array::ensure(value, py::array::c_style);
  std::vector<int64_t> shape(a.shape(), a.shape() + a.ndim());
  return Tensor::fromBytes(*dtype, shape, a.data(), static_cast<size_t>(a.nbytes()));
}

template <typename Layer>
struct PyLayer {
  ModelPtr holder;
  std::unique_ptr<Layer> layer;
  PyVar call(const PyVar& x) const {
    if (x.holder != holder) throw Error("a layer is applied to values of its own model");
    holder->get();
    return wrap(holder, (*layer)(x.var));
  }
};

}  // namespace

void bindBuilder(py::module_& m) {
  py::module_ nn = m.def_submodule("nn", "the model builder");
  py::class_<ModelHolder, ModelPtr>(nn, "Model")
      .def(py::init([](const std::string& name, uint64_t seed) {
             auto h = std::make_shared<ModelHolder>();
             h->model = std::make_unique<b::Model>(name, seed);
             return h;
           }),
           py::arg("name") = "model", py::arg("seed") = 0)
      .def("input", [](const ModelPtr& h, const std::string& name, const std::vector<py::object>& dims, const std::string& dtype) {
             std::vector<Dim> ds;
             for (const auto& d : dims) ds.push_back(dimOf(d));
             return wrap(h, h->get().input(name, dtypeArg(dtype), ds));
           }, py::arg("name"), py::arg("shape"), py::arg("dtype") = "f32")
      .def("output", [](const ModelPtr& h, const PyVar& v, const std::string& name) {
             if (v.holder != h) throw Error("an output must be a value of this model");
             h->get().output(v.var, name);
             if (!h->model->ok()) throw Error(h->model->status().message());
           }, py::arg("value"), py::arg("name") = "")
      .def("constant", [](const ModelPtr& h, const py::array& value, const std::string& name) {
             return wrap(h, h->get().constant(tensorOf(value), name));
           }, py::arg("value"), py::arg("name") = "")
      .def("parameter", [](const ModelPtr& h, const std::string& name, const std::vector<int64_t>& shape, float bound) {
             return wrap(h, h->get().parameter(name, shape, bound));
           }, py::arg("name"), py::arg("shape"), py::arg("bound"))
      .def("finish", [](const ModelPtr& h) {
             b::Model& model = h->get();
             h->finished = true;
             return std::shared_ptr<Graph>(valueOr(model.finish()));
           });

  py::class_<PyVar>(nn, "Var")
      .def_property_readonly("dtype", [](const PyVar& v) { return std::string(dtypeName(v.var.type().dtype)); })
      .def_property_readonly("shape", [](const PyVar& v) { py::tuple t = describeType("", v.var.type()); return py::object(t[2]); })
      .def_property_readonly("name", [](const PyVar& v) { return v.var.value()->name(); })
      .def("__add__", [](const PyVar& a, const PyVar& c) { return wrap(modelOf({&a, &c}), b::add(a.var, c.var)); })
      .def("__sub__", [](const PyVar& a, const PyVar& c) { return wrap(modelOf({&a, &c}), b::sub(a.var, c.var)); })
      .def("__mul__", [](const PyVar& a, const PyVar& c) { return wrap(modelOf({&a, &c}), b::mul(a.var, c.var)); })
      .def("__truediv__", [](const PyVar& a, const PyVar& c) { return wrap(modelOf({&a, &c}), b::div(a.var, c.var)); })
      .def("__matmul__", [](const PyVar& a, const PyVar& c) { return wrap(modelOf({&a, &c}), b::matmul(a.var, c.var)); })
      .def("__add__", [](const PyVar& a, double c) { return wrap(modelOf({&a}), b::add(a.var, c)); })
      .def("__radd__", [](const PyVar& a, double c) { return wrap(modelOf({&a}), b::add(a.var, c)); })
      .def("__sub__", [](const PyVar& a, double c) { return wrap(modelOf({&a}), b::add(a.var, -c)); })
      .def("__rsub__", [](const PyVar& a, double c) { return wrap(modelOf({&a}), b::add(b::neg(a.var), c)); })
      .def("__mul__", [](const PyVar& a, double c) { return wrap(modelOf({&a}), b::mul(a.var, c)); })
      .def("__rmul__", [](const PyVar& a, double c) { return wrap(modelOf({&a}), b::mul(a.var, c)); })
      .def("__truediv__", [](const PyVar& a, double c) { return wrap(modelOf({&a}), b::mul(a.var, 1.0 / c)); })
      .def("__pow__", [](const PyVar& a, double c) { return wrap(modelOf({&a}), b::pow(a.var, c)); })
      .def("__neg__", [](const PyVar& a) { return wrap(modelOf({&a}), b::neg(a.var)); });

  binary(nn, "add", [](b::Var x, b::Var y) { return b::add(x, y); }, "x + y");
  binary(nn, "sub", [](b::Var x, b::Var y) { return b::sub(x, y); }, "x - y");
  binary(nn, "mul", [](b::Var x, b::Var y) { return b::mul(x, y); }, "x * y");
  binary(nn, "div", [](b::Var x, b::Var y) { return b::div(x, y); }, "x / y");
  binary(nn, "matmul", b::matmul, "matrix product (NumPy's matmul broadcasting)");
  binary(nn, "minimum", b::minimum, "elementwise minimum");
  binary(nn, "maximum", b::maximum, "elementwise maximum");
  binary(nn, "greater", b::greater, "x > y (bool)");
  binary(nn, "less", b::less, "x < y (bool)");
  binary(nn, "equal", b::equal, "x == y (bool)");
  unary(nn, "neg", b::neg, "-x");
  unary(nn, "abs", b::abs, "|x|");
  unary(nn, "exp", b::exp, "e^x");
  unary(nn, "log", b::log, "natural logarithm");
  unary(nn, "sqrt", b::sqrt, "square root");
  unary(nn, "softplus", b::softplus, "log(1 + e^x)");
  unary(nn, "relu", b::relu, "max(x, 0)");
  unary(nn, "sigmoid", b::sigmoid, "1 / (1 + e^-x)");
  unary(nn, "tanh", b::tanh, "hyperbolic tangent");
  unary(nn, "gelu", b::gelu, "x * 0.5 * (1 + erf(x / sqrt(2)))");
  unary(nn, "silu", b::silu, "x * sigmoid(x)");
  unary(nn, "logical_not", b::logicalNot, "not x (bool)");
  unary(nn, "global_avg_pool", b::globalAvgPool, "mean over the spatial dims of NCHW, keeping them as 1");
  nn.def("where", [](const PyVar& c, const PyVar& x, const PyVar& y) { return wrap(modelOf({&c, &x, &y}), b::where(c.var, x.var, y.var)); });
  nn.def("cast", [](const PyVar& x, const std::string& to) { return wrap(modelOf({&x}), b::cast(x.var, dtypeArg(to))); });
  nn.def("reduce_sum", [](const PyVar& x, std::vector<int64_t> axes, bool keepdims) { return wrap(modelOf({&x}), b::reduceSum(x.var, axes, keepdims)); },
         py::arg("x"), py::arg("axes") = std::vector<int64_t>{}, py::arg("keepdims") = false);
  nn.def("reduce_mean", [](const PyVar& x, std::vector<int64_t> axes, bool keepdims) { return wrap(modelOf({&x}), b::reduceMean(x.var, axes, keepdims)); },
         py::arg("x"), py::arg("axes") = std::vector<int64_t>{}, py::arg("keepdims") = false);
  nn.def("argmax", [](const PyVar& x, int64_t axis, bool keepdims) { return wrap(modelOf({&x}), b::argmax(x.var, axis, keepdims)); },
         py::arg("x"), py::arg("axis"), py::arg("keepdims") = false);
  nn.def("softmax", [](const PyVar& x, int64_t axis) { return wrap(modelOf({&x}), b::softmax(x.var, axis)); }, py::arg("x"), py::arg("axis") = -1);
  nn.def("log_softmax", [](const PyVar& x, int64_t axis) { return wrap(modelOf({&x}), b::logSoftmax(x.var, axis)); }, py::arg("x"), py::arg("axis") = -1);
  nn.def("transpose", [](const PyVar& x, std::vector<int64_t> perm) { return wrap(modelOf({&x}), b::transpose(x.var, perm)); });
  nn.def("reshape", [](const PyVar& x, std::vector<int64_t> shape) { return wrap(modelOf({&x}), b::reshape(x.var, shape)); });
  nn.def("unsqueeze", [](const PyVar& x, std::vector<int64_t> axes) { return wrap(modelOf({&x}), b::unsqueeze(x.var, axes)); });
  nn.def("flatten", [](const PyVar& x, int64_t axis) { return wrap(modelOf({&x}), b::flatten(x.var, axis)); }, py::arg("x"), py::arg("axis") = 1);
  nn.def("max_pool2d", [](const PyVar& x, int64_t k, int64_t s, int64_t p) { return wrap(modelOf({&x}), b::maxPool2d(x.var, k, s, p)); },
         py::arg("x"), py::arg("kernel"), py::arg("stride"), py::arg("pad") = 0);
  nn.def("avg_pool2d", [](const PyVar& x, int64_t k, int64_t s, int64_t p) { return wrap(modelOf({&x}), b::avgPool2d(x.var, k, s, p)); },
         py::arg("x"), py::arg("kernel"), py::arg("stride"), py::arg("pad") = 0);

  using Linear = PyLayer<b::Linear>;
  py::class_<Linear>(nn, "Linear")
      .def(py::init([](const ModelPtr& h, const std::string& name, int64_t in, int64_t out, bool bias) {
             auto l = Linear{h, std::make_unique<b::Linear>(h->get(), name, in, out, bias)};
             if (!h->model->ok()) throw Error(h->model->status().message());
             return l;
           }),
           py::arg("model"), py::arg("name"), py::arg("in_features"), py::arg("out_features"), py::arg("bias") = true)
      .def("__call__", &Linear::call);
  using Conv2d = PyLayer<b::Conv2d>;
  py::class_<Conv2d>(nn, "Conv2d")
      .def(py::init([](const ModelPtr& h, const std::string& name, int64_t in, int64_t out, int64_t kernel, int64_t stride, int64_t pad,
                       int64_t groups, int64_t dilation, bool bias) {
             auto l = Conv2d{h, std::make_unique<b::Conv2d>(h->get(), name, in, out, kernel, stride, pad, groups, dilation, bias)};
             if (!h->model->ok()) throw Error(h->model->status().message());
             return l;
           }),
           py::arg("model"), py::arg("name"), py::arg("in_channels"), py::arg("out_channels"), py::arg("kernel"), py::arg("stride") = 1,
           py::arg("pad") = 0, py::arg("groups") = 1, py::arg("dilation") = 1, py::arg("bias") = true)
      .def("__call__", &Conv2d::call);
  using BatchNorm2d = PyLayer<b::BatchNorm2d>;
  py::class_<BatchNorm2d>(nn, "BatchNorm2d")
      .def(py::init([](const ModelPtr& h, const std::string& name, int64_t channels, float eps) {
             return BatchNorm2d{h, std::make_unique<b::BatchNorm2d>(h->get(), name, channels, eps)};
           }),
           py::arg("model"), py::arg("name"), py::arg("channels"), py::arg("eps") = 1e-5f)
      .def("__call__", &BatchNorm2d::call);
  using LayerNorm = PyLayer<b::LayerNorm>;
  py::class_<LayerNorm>(nn, "LayerNorm")
      .def(py::init([](const ModelPtr& h, const std::string& name, int64_t features, float eps) {
             return LayerNorm{h, std::make_unique<b::LayerNorm>(h->get(), name, features, eps)};
           }),
           py::arg("model"), py::arg("name"), py::arg("features"), py::arg("eps") = 1e-5f)
      .def("__call__", &LayerNorm::call);
  using RMSNorm = PyLayer<b::RMSNorm>;
  py::class_<RMSNorm>(nn, "RMSNorm")
      .def(py::init([](const ModelPtr& h, const std::string& name, int64_t features, float eps) {
             return RMSNorm{h, std::make_unique<b::RMSNorm>(h->get(), name, features, eps)};
           }),
           py::arg("model"), py::arg("name"), py::arg("features"), py::arg("eps") = 1e-6f)
      .def("__call__", &RMSNorm::call);
}

}  // namespace dlc::python
