// Reference kernels: MatMul (numpy batching and 1-D rules), Gemm, MatMulInteger, QLinearMatMul.
#include <cmath>
#include <limits>

#include "backends/reference/gemm.h"
#include "backends/reference/kernels/broadcast.h"
#include "backends/reference/kernels/linear_kernels.h"
#include "backends/reference/kernels/math_family.h"

namespace dlc::ref {
namespace {

// Shapes of a batched product after applying numpy's 1-D promotion rules.
struct MatMulPlan {
  std::vector<int64_t> a_batch, b_batch, out_batch, out_shape;
  int64_t m = 1, k = 1, n = 1;
};

Status planMatMul(KernelContext& ctx, const std::vector<int64_t>& as, const std::vector<int64_t>& bs,
                  MatMulPlan* p) {
  if (as.empty() || bs.empty()) return ctx.error("MatMul operands must have rank >= 1");
  std::vector<int64_t> a = as, b = bs;
  bool a_vec = a.size() == 1, b_vec = b.size() == 1;
  if (a_vec) a.insert(a.begin(), 1);  // [K] -> [1,K]
  if (b_vec) b.push_back(1);          // [K] -> [K,1]
  p->m = a[a.size() - 2];
  p->k = a.back();
  p->n = b.back();
  if (b[b.size() - 2] != p->k)
    return ctx.error(str("inner dimensions differ: ", p->k, " vs ", b[b.size() - 2]));
  p->a_batch.assign(a.begin(), a.end() - 2);
  p->b_batch.assign(b.begin(), b.end() - 2);
  std::string err;
  if (!broadcastShapes({p->a_batch, p->b_batch}, &p->out_batch, &err)) return ctx.error(err);
  p->out_shape = p->out_batch;
  if (!a_vec) p->out_shape.push_back(p->m);
  if (!b_vec) p->out_shape.push_back(p->n);
  return Status::success();
}

// Calls fn(a_offset, b_offset, c_offset) in elements for every matrix of the broadcast batch.
template <typename Fn>
void forEachBatch(const MatMulPlan& p, Fn fn) {
  const int64_t batches = numElements(p.out_batch);
  std::vector<int64_t> sa = broadcastStrides(p.a_batch, p.out_batch), sb = broadcastStrides(p.b_batch, p.out_batch);
  std::vector<int64_t> idx(p.out_batch.size(), 0);
  for (int64_t bi = 0; bi < batches; ++bi) {
    int64_t rem = bi, oa = 0, ob = 0;
    for (int d = static_cast<int>(p.out_batch.size()) - 1; d >= 0; --d) {
      int64_t i = rem % p.out_batch[static_cast<size_t>(d)];
      rem /= p.out_batch[static_cast<size_t>(d)];
      oa += i * sa[static_cast<size_t>(d)];
      ob += i * sb[static_cast<size_t>(d)];
    }
    fn(oa * p.m * p.k, ob * p.k * p.n, bi * p.m * p.n);
  }
}

// Plain i-k-j product for dtypes without a tuned GEMM; accumulates in Acc.
template <typename T, typename Acc, typename TO = T>
void naiveMatMul(const T* a, const T* b, TO* c, int64_t m, int64_t n, int64_t k) {
  std::vector<Acc> row(static_cast<size_t>(n));
  for (int64_t i = 0; i < m; ++i) {
    std::fill(row.begin(), row.end(), Acc(0));
    for (int64_t p = 0; p < k; ++p) {
      Acc av = static_cast<Acc>(load(a[i * k + p]));
      const T* brow = b + p * n;
      for (int64_t j = 0; j < n; ++j) row[static_cast<size_t>(j)] += av * static_cast<Acc>(load(brow[j]));
    }
    for (int64_t j = 0; j < n; ++j) c[i * n + j] = store<TO>(row[static_cast<size_t>(j)]);
  }
}

template <typename T>
using AccOf = std::conditional_t<kIsFloatStorage<T>, std::conditional_t<std::is_same_v<T, double>, double, float>,
                                 std::conditional_t<std::is_unsigned_v<T>, uint64_t, int64_t>>;

Expected<Tensor> batchedMatMul(KernelContext& ctx, const Tensor& a, const Tensor& b, DType out_dtype) {
  MatMulPlan p;
  DLC_RETURN_IF_ERROR(planMatMul(ctx, a.shape(), b.shape(), &p));
  Tensor c = Tensor::uninitialized(out_dtype, p.out_shape);  // every path below writes all of c
  if (a.dtype() == DType::F32 && out_dtype == DType::F32) {
    const float* pa = a.data<float>();
    const float* pb = b.data<float>();
    float* pc = c.data<float>();
    if (p.b_batch.empty() || numElements(p.b_batch) == 1) {
      if (numElements(p.a_batch) == numElements(p.out_batch)) {
        // Weights without batch dims: fold every batch of A into the rows of one GEMM.
        int64_t rows = numElements(p.out_batch) * p.m;
        gemmF32(false, false, rows, p.n, p.k, 1.0f, pa, p.k, pb, p.n, 0.0f, pc, p.n);
        return c;
      }
    }
    forEachBatch(p, [&](int64_t oa, int64_t ob, int64_t oc) {
      gemmF32(false, false, p.m, p.n, p.k, 1.0f, pa + oa, p.k, pb + ob, p.n, 0.0f, pc + oc, p.n);
    });
    return c;
  }
  if (a.dtype() == DType::F64 && out_dtype == DType::F64) {
    forEachBatch(p, [&](int64_t oa, int64_t ob, int64_t oc) {
      gemmF64(false, false, p.m, p.n, p.k, 1.0, a.data<double>() + oa, p.k, b.data<double>() + ob, p.n, 0.0,
              c.data<double>() + oc, p.n);
    });
    return c;
  }
  bool ok = a.dtype() == out_dtype;
  if (ok) {
    DLC_DISPATCH_NUMERIC_OR(a.dtype(), ok = false, T, {
      forEachBatch(p, [&](int64_t oa, int64_t ob, int64_t oc) {
        naiveMatMul<T, AccOf<T>>(a.data<T>() + oa, b.data<T>() + ob, c.data<T>() + oc, p.m, p.n, p.k);
      });
    });
  }
  if (!ok) return ctx.error(str("dtype ", dtypeName(a.dtype()), " is not supported"));
  return c;
}

Status kMatMul(KernelContext& ctx) {
  if (ctx.input(0).dtype() != ctx.input(1).dtype()) return ctx.error("operand dtypes differ");
  DLC_ASSIGN_OR_RETURN(Tensor c, batchedMatMul(ctx, ctx.input(0), ctx.input(1), ctx.input(0).dtype()));
  ctx.setOutput(0, std::move(c));
  return Status::success();
}

// Y = alpha * op(A) * op(B) + beta * C, with C broadcast unidirectionally to [M, N].
Status kGemm(KernelContext& ctx) {
  const Tensor& a = ctx.input(0);
  const Tensor& b = ctx.input(1);
  if (a.rank() != 2 || b.rank() != 2) return ctx.error("A and B must be 2-D");
  if (a.dtype() != b.dtype()) return ctx.error("operand dtypes differ");
  bool ta = ctx.op().getInt("transA", 0) != 0, tb = ctx.op().getInt("transB", 0) != 0;
  double alpha = ctx.op().getFloat("alpha", 1.0f), beta = ctx.op().getFloat("beta", 1.0f);
  int64_t m = ta ? a.dim(1) : a.dim(0), k = ta ? a.dim(0) : a.dim(1);
  int64_t kb = tb ? b.dim(1) : b.dim(0), n = tb ? b.dim(0) : b.dim(1);
  if (k != kb) return ctx.error(str("inner dimensions differ: ", k, " vs ", kb));
  Tensor y(a.dtype(), {m, n});
  bool has_c = ctx.hasInput(2) && beta != 0.0;
  if (has_c) {
    const Tensor& c = ctx.input(2);
    if (c.dtype() != a.dtype()) return ctx.error("C must have A's dtype");
    std::vector<int64_t> bs;
    if (!broadcastShapes({c.shape(), y.shape()}, &bs, nullptr) || bs != y.shape())
      return ctx.error("C does not broadcast to [M, N]");
  }
  // Y starts as beta * broadcast(C); the product is then accumulated into it.
  auto fillC = [&](auto* py) {
    using T = std::remove_pointer_t<decltype(py)>;
    if (!has_c) return;
    const Tensor& c = ctx.input(2);
    std::array<std::vector<int64_t>, 1> st{broadcastStrides(c.shape(), y.shape())};
    const T* pc = c.data<T>();
    forEachRow<1>(y.shape(), st, [&](int64_t o, const std::array<int64_t, 1>& off, int64_t len,
                                     const std::array<int64_t, 1>& s) {
      for (int64_t j = 0; j < len; ++j) py[o + j] = store<T>(beta * static_cast<double>(load(pc[off[0] + j * s[0]])));
    });
  };
  const int64_t lda = a.dim(1), ldb = b.dim(1);
  if (a.dtype() == DType::F32) {
    fillC(y.data<float>());
    gemmF32(ta, tb, m, n, k, static_cast<float>(alpha), a.data<float>(), lda, b.data<float>(), ldb,
            has_c ? 1.0f : 0.0f, y.data<float>(), n);
  } else if (a.dtype() == DType::F64) {
    fillC(y.data<double>());
    gemmF64(ta, tb, m, n, k, alpha, a.data<double>(), lda, b.data<double>(), ldb, has_c ? 1.0 : 0.0,
            y.data<double>(), n);
  } else {
    bool ok = true;
    DLC_DISPATCH_NUMERIC_OR(a.dtype(), ok = false, T, {
      T* py = y.data<T>();
      fillC(py);
      const T* pa = a.data<T>();
      const T* pb = b.data<T>();
      for (int64_t i = 0; i < m; ++i)
        for (int64_t j = 0; j < n; ++j) {
          double acc = 0;
          for (int64_t p = 0; p < k; ++p)
            acc += static_cast<double>(load(pa[ta ? p * lda + i : i * lda + p])) *
                   static_cast<double>(load(pb[tb ? j * ldb + p : p * ldb + j]));
          double prev = has_c ? static_cast<double>(load(py[i * n + j])) : 0.0;
          py[i * n + j] = store<T>(alpha * acc + prev);
        }
    });
    if (!ok) return ctx.error(str("dtype ", dtypeName(a.dtype()), " is not supported"));
  }
  ctx.setOutput(0, std::move(y));
  return Status::success();
}

// x - zero_point as int32, where the zero point is a scalar or a 1-D tensor along `axis`
// (rows of A: axis -2; columns of B: axis -1).
Expected<Tensor> centered(KernelContext& ctx, const Tensor& x, const Tensor* zp, int axis_from_end) {
  Tensor out(DType::I32, x.shape());
  int32_t* po = out.data<int32_t>();
  const int64_t n = x.numel();
  for (int64_t i = 0; i < n; ++i) po[i] = static_cast<int32_t>(x.getInt(i));
  if (!zp || !zp->defined()) return out;
  if (zp->dtype() != x.dtype()) return ctx.error("zero point must have its tensor's dtype");
  if (zp->numel() == 1) {
    int32_t z = static_cast<int32_t>(zp->getInt(0));
    for (int64_t i = 0; i < n; ++i) po[i] -= z;
    return out;
  }
  const int axis = x.rank() - axis_from_end;
  if (axis < 0 || zp->numel() != x.dim(axis)) return ctx.error("zero point size does not match its axis");
  AxisSplit s = splitAt(x.shape(), axis);
  for (int64_t o = 0; o < s.outer; ++o)
    for (int64_t d = 0; d < s.dim; ++d) {
      int32_t z = static_cast<int32_t>(zp->getInt(d));
      for (int64_t i = 0; i < s.inner; ++i) po[(o * s.dim + d) * s.inner + i] -= z;
    }
  return out;
}

const Tensor* optionalInput(KernelContext& ctx, int i) { return ctx.hasInput(i) ? &ctx.input(i) : nullptr; }

Status kMatMulInteger(KernelContext& ctx) {
  int a_axis = ctx.input(0).rank() >= 2 ? 2 : 1;
  DLC_ASSIGN_OR_RETURN(Tensor a, centered(ctx, ctx.input(0), optionalInput(ctx, 2), a_axis));
  DLC_ASSIGN_OR_RETURN(Tensor b, centered(ctx, ctx.input(1), optionalInput(ctx, 3), 1));
  DLC_ASSIGN_OR_RETURN(Tensor c, batchedMatMul(ctx, a, b, DType::I32));
  ctx.setOutput(0, std::move(c));
  return Status::success();
}

// Per-row (a) / per-column (b) scale value at output index (row i, column j).
double scaleAt(const Tensor& s, int64_t idx) { return s.numel() == 1 ? s.getDouble(0) : s.getDouble(idx); }

Status kQLinearMatMul(KernelContext& ctx) {
  const Tensor& a_scale = ctx.input(1);
  const Tensor& b_scale = ctx.input(4);
  const Tensor& y_scale = ctx.input(6);
  const Tensor& y_zp = ctx.input(7);
  int a_axis = ctx.input(0).rank() >= 2 ? 2 : 1;
  DLC_ASSIGN_OR_RETURN(Tensor a, centered(ctx, ctx.input(0), &ctx.input(2), a_axis));
  DLC_ASSIGN_OR_RETURN(Tensor b, centered(ctx, ctx.input(3), &ctx.input(5), 1));
  DLC_ASSIGN_OR_RETURN(Tensor acc, batchedMatMul(ctx, a, b, DType::I32));
  if (y_zp.dtype() != DType::U8 && y_zp.dtype() != DType::I8) return ctx.error("y_zero_point must be u8 or i8");
  Tensor y(y_zp.dtype(), acc.shape());
  const int64_t n = acc.rank() >= 1 && ctx.input(3).rank() >= 2 ? acc.dim(acc.rank() - 1) : 1;
  const int64_t m = ctx.input(0).rank() >= 2 ? ctx.input(0).dim(ctx.input(0).rank() - 2) : 1;
  const double lo = y_zp.dtype() == DType::U8 ? 0 : -128, hi = y_zp.dtype() == DType::U8 ? 255 : 127;
  const double ys = y_scale.getDouble(0);
  const double yz = static_cast<double>(y_zp.getInt(0));
  const int32_t* pa = acc.data<int32_t>();
  for (int64_t i = 0; i < acc.numel(); ++i) {
    int64_t col = i % n, row = (i / n) % m;
    // Scales multiply in float32, as the ONNX reference does, before dividing by y_scale.
    double scale = static_cast<float>(scaleAt(a_scale, row) * scaleAt(b_scale, col)) / ys;
    double v = std::nearbyint(static_cast<double>(pa[i]) * scale) + yz;
    y.setDouble(i, std::min(hi, std::max(lo, v)));
  }
  ctx.setOutput(0, std::move(y));
  return Status::success();
}

}  // namespace

Expected<Tensor> runBatchedMatMul(KernelContext& ctx, const Tensor& a, const Tensor& b, DType out_dtype) {
  return batchedMatMul(ctx, a, b, out_dtype);
}

void registerMatMulKernels(KernelTable& table) {
  table[static_cast<size_t>(OpKind::MatMul)] = &kMatMul;
  table[static_cast<size_t>(OpKind::Gemm)] = &kGemm;
  table[static_cast<size_t>(OpKind::MatMulInteger)] = &kMatMulInteger;
  table[static_cast<size_t>(OpKind::QLinearMatMul)] = &kQLinearMatMul;
}

}  // namespace dlc::ref
