// Tensor: a dtype, a shape and shared storage. Holds constants in the IR and values in the interpreter.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "ir/dtype.h"

namespace dlc {

// Copies are shallow (storage is shared); use clone() for a deep copy. Storage is 64-byte aligned
// and zero-initialised (except with uninitialized()). String tensors keep their elements in a separate vector.
class Tensor {
 public:
  Tensor() = default;
  Tensor(DType dtype, std::vector<int64_t> shape);  // allocates zeroed storage
  // Storage left uninitialised, for kernels that write every element before anything reads it:
  // zero-filling a large output the kernel overwrites anyway costs a full extra pass over memory.
  // String tensors get empty strings as with the constructor.
  static Tensor uninitialized(DType dtype, std::vector<int64_t> shape);

  // Wraps existing memory (e.g. a memory-mapped weights file); `owner` keeps it alive.
  static Tensor wrap(DType dtype, std::vector<int64_t> shape, void* data, std::shared_ptr<void> owner);
  static Tensor fromBytes(DType dtype, std::vector<int64_t> shape, const void* data, size_t nbytes);
  template <typename T>
  static Tensor fromVector(DType dtype, std::vector<int64_t> shape, const std::vector<T>& values) {
    return fromBytes(dtype, std::move(shape), values.data(), values.size() * sizeof(T));
  }
  static Tensor scalar(DType dtype, double value);  // rank-0 tensor of a numeric dtype

  bool defined() const { return dtype_ != DType::Undefined; }
  DType dtype() const { return dtype_; }
  const std::vector<int64_t>& shape() const { return shape_; }
  int rank() const { return static_cast<int>(shape_.size()); }
  int64_t dim(int i) const { return shape_[static_cast<size_t>(i)]; }
  int64_t numel() const;
  size_t nbytes() const { return dtypeStorageBytes(dtype_, numel()); }

  void* raw() { return data_; }
  const void* raw() const { return data_; }
  template <typename T>
  T* data() { return static_cast<T*>(data_); }
  template <typename T>
  const T* data() const { return static_cast<const T*>(data_); }

  std::vector<std::string>& strings() { return *strings_; }
  const std::vector<std::string>& strings() const { return *strings_; }

  // Reads element i of a numeric tensor as double / int64 (converting from the stored dtype).
  double getDouble(int64_t i) const;
  int64_t getInt(int64_t i) const;
  // Writes element i of a numeric tensor, converting to the stored dtype.
  void setDouble(int64_t i, double v);
  void setInt(int64_t i, int64_t v);

  // Same storage viewed with another shape of equal element count.
  Tensor reshaped(std::vector<int64_t> shape) const;
  Tensor clone() const;
  // Converts every element to `to` (numeric and bool types; string only to/from string).
  Tensor castTo(DType to) const;
  // Element values as int64 (for shape-like tensors such as Reshape's target shape).
  std::vector<int64_t> toInt64Vector() const;
  std::vector<double> toDoubleVector() const;

 private:
  DType dtype_ = DType::Undefined;
  std::vector<int64_t> shape_;
  std::shared_ptr<void> owner_;
  void* data_ = nullptr;
  std::shared_ptr<std::vector<std::string>> strings_;
};

}  // namespace dlc
