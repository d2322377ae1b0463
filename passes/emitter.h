// Builds IR at one point of a region with a sticky error, so gradient rules, decompositions and
// lowerings read as straight-line math: after the first failure every call returns null and
// status() reports it.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "ir/builder.h"
#include "ir/graph.h"
#include "ir/status.h"

namespace dlc::passes {

class Emitter {
 public:
  // Ops are created before `before` (at the region's end when null); `location` labels them.
  Emitter(Region& region, Op* before, std::string location);

  bool ok() const { return status_.ok(); }
  const Status& status() const { return status_; }
  void fail(const Status& s) {
    if (status_.ok() && !s.ok()) status_ = s;
  }
  void fail(const std::string& message) { fail(Status::error(str(location_, ": ", message))); }
  const std::string& location() const { return location_; }

  // One op; its result 0 (or all results). Null operands are absent optional inputs, but an
  // operand that is null because an earlier call failed makes this call a no-op.
  Value* op(OpKind kind, std::vector<Value*> operands, std::map<std::string, Attribute> attrs = {});
  std::vector<Value*> ops(OpKind kind, std::vector<Value*> operands, std::map<std::string, Attribute> attrs,
                          int num_results);
  // Like op(), but a null operand is an absent optional input rather than a failed one.
  Value* opOptional(OpKind kind, std::vector<Value*> operands, std::map<std::string, Attribute> attrs = {});

  Value* constant(Tensor t);
  Value* scalar(DType dtype, double v);  // rank 0
  Value* scalarLike(Value* like, double v);  // rank 0, like's dtype
  Value* ints(const std::vector<int64_t>& v);  // i64 [n]
  Value* int64(int64_t v);                      // i64 rank 0

  Value* add(Value* a, Value* b) { return op(OpKind::Add, {a, b}); }
  Value* sub(Value* a, Value* b) { return op(OpKind::Sub, {a, b}); }
  Value* mul(Value* a, Value* b) { return op(OpKind::Mul, {a, b}); }
  Value* div(Value* a, Value* b) { return op(OpKind::Div, {a, b}); }
  Value* neg(Value* a) { return op(OpKind::Neg, {a}); }
  Value* mulScalar(Value* a, double s) { return mul(a, scalarLike(a, s)); }
  Value* addScalar(Value* a, double s) { return add(a, scalarLike(a, s)); }
  Value* where(Value* c, Value* a, Value* b) { return op(OpKind::Where, {c, a, b}); }
  Value* cast(Value* v, DType to);
  Value* castLike(Value* v, Value* like) { return v && like ? cast(v, like->type().dtype) : nullptr; }

  // Shape facts and movements. Static shapes become constants, others Shape ops.
  Value* shapeOf(Value* v);
  Value* reshape(Value* v, const std::vector<int64_t>& shape);
  Value* reshapeLike(Value* v, Value* like);  // v itself when the types already agree
  Value* expandLike(Value* v, Value* like);    // broadcast v to like's shape
  Value* transpose(Value* v, const std::vector<int64_t>& perm);
  Value* unsqueeze(Value* v, const std::vector<int64_t>& axes);
  Value* squeeze(Value* v, const std::vector<int64_t>& axes);
  Value* reduceSum(Value* v, const std::vector<int64_t>& axes, bool keepdims);
  Value* reduceMean(Value* v, const std::vector<int64_t>& axes, bool keepdims);
  // Sums a broadcast gradient back to `like`'s shape (numpy broadcasting read backwards).
  Value* sumToShape(Value* g, Value* like);
  Value* zerosLike(Value* v);
  Value* onesLike(Value* v);
  // Elements of v along `axes` (static dims) as a scalar of `like`'s dtype.
  Value* countOf(Value* v, const std::vector<int64_t>& axes, Value* like);

  // Rank of a ranked tensor value; records an error and returns -1 otherwise.
  int rankOf(Value* v);
  // The static size of dim i of v, or -1 (recording an error naming `what`) when it is not static.
  int64_t staticDim(Value* v, int i, const char* what);

 private:
  Builder builder_;
  std::string location_;
  Status status_;
};

// Maps axes in [-rank, rank) to [0, rank), sorted; false when one is out of range.
bool normalizeAxes(std::vector<int64_t>& axes, int rank);

}  // namespace dlc::passes
