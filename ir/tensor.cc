// Tensor storage, element access by value, casting and reshaping.
#include "ir/tensor.h"

#include <cmath>
#include <cstdlib>
#include <cstring>
#include <stdexcept>

#include "ir/dtype_dispatch.h"

namespace dlc {
namespace {
std::shared_ptr<void> allocAligned(size_t bytes, bool zero = true) {
  size_t rounded = ((bytes + 63) / 64) * 64;
  if (rounded == 0) rounded = 64;
  void* p = std::aligned_alloc(64, rounded);
  if (!p) throw std::bad_alloc();
  if (zero) std::memset(p, 0, rounded);
  return std::shared_ptr<void>(p, [](void* q) { std::free(q); });
}

int64_t product(const std::vector<int64_t>& shape) {
  int64_t n = 1;
  for (int64_t d : shape) n *= d;
  return n;
}
}  // namespace

Tensor::Tensor(DType dtype, std::vector<int64_t> shape) : dtype_(dtype), shape_(std::move(shape)) {
  if (dtype_ == DType::String) {
    strings_ = std::make_shared<std::vector<std::string>>(static_cast<size_t>(numel()));
    owner_ = allocAligned(0);
  } else {
    owner_ = allocAligned(nbytes());
  }
  data_ = owner_.get();
}

Tensor Tensor::uninitialized(DType dtype, std::vector<int64_t> shape) {
  if (dtype == DType::String) return Tensor(dtype, std::move(shape));
  Tensor t;
  t.dtype_ = dtype;
  t.shape_ = std::move(shape);
  t.owner_ = allocAligned(t.nbytes(), /*zero=*/false);
  t.data_ = t.owner_.get();
  return t;
}

Tensor Tensor::wrap(DType dtype, std::vector<int64_t> shape, void* data, std::shared_ptr<void> owner) {
  Tensor t;
  t.dtype_ = dtype;
  t.shape_ = std::move(shape);
  t.owner_ = std::move(owner);
  t.data_ = data;
  return t;
}

Tensor Tensor::fromBytes(DType dtype, std::vector<int64_t> shape, const void* data, size_t nbytes) {
  Tensor t(dtype, std::move(shape));
  if (size_t n = std::min(nbytes, t.nbytes())) std::memcpy(t.data_, data, n);  // empty: data may be null
  return t;
}

Tensor Tensor::scalar(DType dtype, double value) {
  Tensor t(dtype, {});
  t.setDouble(0, value);
  return t;
}

int64_t Tensor::numel() const { return product(shape_); }

double Tensor::getDouble(int64_t i) const {
  double out = 0;
  DLC_DISPATCH_NUMERIC_OR(dtype_, throw std::logic_error("getDouble on non-numeric tensor"), T,
                          out = toDouble(static_cast<const T*>(data_)[i]));
  return out;
}

namespace {
template <typename T>
int64_t loadInt(const void* p, int64_t i) {
  if constexpr (std::is_integral_v<T>)
    return static_cast<int64_t>(static_cast<const T*>(p)[i]);
  else
    return static_cast<int64_t>(toDouble(static_cast<const T*>(p)[i]));
}
template <typename T>
void storeInt(void* p, int64_t i, int64_t v) {
  if constexpr (std::is_same_v<T, bool>)
    static_cast<T*>(p)[i] = v != 0;
  else if constexpr (std::is_integral_v<T>)
    static_cast<T*>(p)[i] = static_cast<T>(v);
  else
    static_cast<T*>(p)[i] = fromDouble<T>(static_cast<double>(v));
}
}  // namespace

int64_t Tensor::getInt(int64_t i) const {
  int64_t out = 0;
  DLC_DISPATCH_NUMERIC_OR(dtype_, throw std::logic_error("getInt on non-numeric tensor"), T,
                          out = loadInt<T>(data_, i));
  return out;
}

void Tensor::setDouble(int64_t i, double v) {
  DLC_DISPATCH_NUMERIC_OR(dtype_, throw std::logic_error("setDouble on non-numeric tensor"), T,
                          static_cast<T*>(data_)[i] = fromDouble<T>(v));
}

void Tensor::setInt(int64_t i, int64_t v) {
  DLC_DISPATCH_NUMERIC_OR(dtype_, throw std::logic_error("setInt on non-numeric tensor"), T,
                          storeInt<T>(data_, i, v));
}

Tensor Tensor::reshaped(std::vector<int64_t> shape) const {
  Tensor t = *this;
  t.shape_ = std::move(shape);
  return t;
}

Tensor Tensor::clone() const {
  Tensor t(dtype_, shape_);
  if (dtype_ == DType::String)
    *t.strings_ = *strings_;
  else
    std::memcpy(t.data_, data_, nbytes());
  return t;
}

Tensor Tensor::castTo(DType to) const {
  if (to == dtype_) return clone();
  Tensor out(to, shape_);
  int64_t n = numel();
  if (dtype_ == DType::String || to == DType::String) {
    if (dtype_ == DType::String) {  // parse numbers
      for (int64_t i = 0; i < n; ++i) out.setDouble(i, std::strtod((*strings_)[i].c_str(), nullptr));
    } else {
      for (int64_t i = 0; i < n; ++i) {
        double v = getDouble(i);
        (*out.strings_)[i] = std::isfinite(v) && std::floor(v) == v && std::fabs(v) < 1e15
                                 ? std::to_string(static_cast<int64_t>(v))
                                 : std::to_string(v);
      }
    }
    return out;
  }
  bool intToInt = isInteger(dtype_) && isInteger(to);
  for (int64_t i = 0; i < n; ++i) {
    if (intToInt)
      out.setInt(i, getInt(i));
    else
      out.setDouble(i, getDouble(i));
  }
  return out;
}

std::vector<int64_t> Tensor::toInt64Vector() const {
  std::vector<int64_t> v(static_cast<size_t>(numel()));
  for (int64_t i = 0; i < numel(); ++i) v[i] = getInt(i);
  return v;
}

std::vector<double> Tensor::toDoubleVector() const {
  std::vector<double> v(static_cast<size_t>(numel()));
  for (int64_t i = 0; i < numel(); ++i) v[i] = getDouble(i);
  return v;
}

}  // namespace dlc
