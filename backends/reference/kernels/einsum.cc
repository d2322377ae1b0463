// Reference kernels: Einsum (general equations, implicit output, ellipsis), Det, EyeLike, Range.
#include <algorithm>
#include <cctype>
#include <cmath>
#include <map>

#include "backends/reference/kernels/broadcast.h"
#include "backends/reference/kernels/math_family.h"
#include "ir/dtype_onnx.h"

namespace dlc::ref {
namespace {

// Label ids: letters are their char code; ellipsis dims are kEllipsisBase + position counted from
// the left of the broadcast ellipsis (so they align to the right across operands, like numpy).
constexpr int kEllipsisBase = 1000;

struct Term {
  std::vector<char> letters;  // with '.' standing for the ellipsis (once)
};

Status parseTerm(const std::string& t, Term* out) {
  for (size_t i = 0; i < t.size(); ++i) {
    char ch = t[i];
    if (ch == '.') {
      if (t.compare(i, 3, "...") != 0) return Status::error("malformed ellipsis");
      for (char c : out->letters)
        if (c == '.') return Status::error("more than one ellipsis in a term");
      out->letters.push_back('.');
      i += 2;
    } else if (std::isalpha(static_cast<unsigned char>(ch))) {
      out->letters.push_back(ch);
    } else {
      return Status::error(str("unexpected character '", ch, "' in equation"));
    }
  }
  return Status::success();
}

Status kEinsum(KernelContext& ctx) {
  std::string eq;
  for (char c : ctx.op().getString("equation"))
    if (c != ' ') eq += c;
  std::string lhs = eq, rhs;
  bool explicit_out = false;
  if (size_t arrow = eq.find("->"); arrow != std::string::npos) {
    lhs = eq.substr(0, arrow);
    rhs = eq.substr(arrow + 2);
    explicit_out = true;
  }
  std::vector<Term> terms;
  size_t start = 0;
  while (true) {
    size_t comma = lhs.find(',', start);
    Term t;
    Status s = parseTerm(lhs.substr(start, comma == std::string::npos ? std::string::npos : comma - start), &t);
    if (!s.ok()) return ctx.error(s.message());
    terms.push_back(std::move(t));
    if (comma == std::string::npos) break;
    start = comma + 1;
  }
  if (static_cast<int>(terms.size()) != ctx.numInputs())
    return ctx.error(str("equation has ", terms.size(), " operands but ", ctx.numInputs(), " inputs are given"));
  const DType dt = ctx.input(0).dtype();
  // Expand each operand's labels to one id per dim.
  int ell_rank = 0;
  std::vector<std::vector<int>> ids(terms.size());
  for (size_t k = 0; k < terms.size(); ++k) {
    if (ctx.input(static_cast<int>(k)).dtype() != dt) return ctx.error("inputs must share one dtype");
    int rank = ctx.input(static_cast<int>(k)).rank();
    int named = static_cast<int>(std::count_if(terms[k].letters.begin(), terms[k].letters.end(), [](char c) { return c != '.'; }));
    bool has_ell = named != static_cast<int>(terms[k].letters.size());
    if (has_ell ? rank < named : rank != named)
      return ctx.error(str("operand ", k, " has rank ", rank, " but its term names ", named, " dims"));
    ell_rank = std::max(ell_rank, rank - named);
  }
  std::map<int, int64_t> size;
  std::map<int, int> count;
  for (size_t k = 0; k < terms.size(); ++k) {
    const Tensor& x = ctx.input(static_cast<int>(k));
    int named = static_cast<int>(std::count_if(terms[k].letters.begin(), terms[k].letters.end(), [](char c) { return c != '.'; }));
    int e = x.rank() - named;
    for (char c : terms[k].letters) {
      if (c == '.') {
        for (int j = 0; j < e; ++j) ids[k].push_back(kEllipsisBase + ell_rank - e + j);
      } else {
        ids[k].push_back(c);
      }
    }
    for (int d = 0; d < x.rank(); ++d) {
      int id = ids[k][static_cast<size_t>(d)];
      int64_t n = x.dim(d);
      auto it = size.find(id);
      if (it == size.end() || it->second == 1) size[id] = n;
      else if (n != 1 && n != it->second)
        return ctx.error(str("label size mismatch: ", n, " vs ", it->second));
      if (id < kEllipsisBase) ++count[id];
    }
  }
  std::vector<int> out_ids;
  if (explicit_out) {
    Term t;
    Status s = parseTerm(rhs, &t);
    if (!s.ok()) return ctx.error(s.message());
    for (char c : t.letters) {
      if (c == '.') {
        for (int j = 0; j < ell_rank; ++j) out_ids.push_back(kEllipsisBase + j);
      } else {
        if (!size.count(c)) return ctx.error(str("output label '", c, "' does not appear in the inputs"));
        out_ids.push_back(c);
      }
    }
  } else {
    for (int j = 0; j < ell_rank; ++j) out_ids.push_back(kEllipsisBase + j);
    for (auto& [id, n] : count)  // std::map orders labels alphabetically (upper case first, as numpy)
      if (n == 1) out_ids.push_back(id);
  }
  // Loop order: output labels, then the summed ones.
  std::vector<int> all = out_ids;
  for (auto& [id, n] : size)
    if (std::find(all.begin(), all.end(), id) == all.end()) all.push_back(id);
  const size_t L = all.size();
  std::vector<int64_t> dims(L);
  for (size_t l = 0; l < L; ++l) dims[l] = size[all[l]];
  // Per-operand stride of each loop label (repeated labels add up: a diagonal); 0 when broadcast.
  std::vector<std::vector<int64_t>> strides(terms.size(), std::vector<int64_t>(L, 0));
  for (size_t k = 0; k < terms.size(); ++k) {
    const Tensor& x = ctx.input(static_cast<int>(k));
    std::vector<int64_t> st = stridesOf(x.shape());
    for (int d = 0; d < x.rank(); ++d) {
      if (x.dim(d) == 1 && size[ids[k][static_cast<size_t>(d)]] != 1) continue;
      size_t l = static_cast<size_t>(std::find(all.begin(), all.end(), ids[k][static_cast<size_t>(d)]) - all.begin());
      strides[k][l] += st[static_cast<size_t>(d)];
    }
  }
  std::vector<int64_t> out_shape;
  for (int id : out_ids) out_shape.push_back(size[id]);
  Tensor y(dt, out_shape);
  std::vector<int64_t> ost = stridesOf(out_shape);
  ost.resize(L, 0);
  std::vector<std::vector<double>> in_vals;
  for (int k = 0; k < ctx.numInputs(); ++k) {
    if (!isFloat(dt) && !isInteger(dt)) return ctx.error("inputs must be numeric");
    in_vals.push_back(ctx.input(k).toDoubleVector());
  }
  std::vector<double> acc(static_cast<size_t>(y.numel()), 0.0);
  if (numElements(dims) > 0) {
    std::vector<int64_t> idx(L, 0), off(terms.size(), 0);
    int64_t o = 0;
    while (true) {
      double prod = 1.0;
      for (size_t k = 0; k < terms.size(); ++k) prod *= in_vals[k][static_cast<size_t>(off[k])];
      acc[static_cast<size_t>(o)] += prod;
      int l = static_cast<int>(L) - 1;
      for (; l >= 0; --l) {
        size_t lu = static_cast<size_t>(l);
        ++idx[lu];
        o += ost[lu];
        for (size_t k = 0; k < terms.size(); ++k) off[k] += strides[k][lu];
        if (idx[lu] < dims[lu]) break;
        o -= ost[lu] * idx[lu];
        for (size_t k = 0; k < terms.size(); ++k) off[k] -= strides[k][lu] * idx[lu];
        idx[lu] = 0;
      }
      if (l < 0) break;
    }
  }
  for (int64_t i = 0; i < y.numel(); ++i) y.setDouble(i, acc[static_cast<size_t>(i)]);
  ctx.setOutput(0, std::move(y));
  return Status::success();
}

// Determinant of the trailing square matrices by LU decomposition with partial pivoting.
Status kDet(KernelContext& ctx) {
  const Tensor& x = ctx.input(0);
  if (!isFloat(x.dtype())) return ctx.error("input must be floating point");
  if (x.rank() < 2 || x.dim(x.rank() - 1) != x.dim(x.rank() - 2)) return ctx.error("input must be [*, M, M]");
  const int64_t n = x.dim(x.rank() - 1);
  std::vector<int64_t> out_shape(x.shape().begin(), x.shape().end() - 2);
  Tensor y(x.dtype(), out_shape);
  std::vector<double> v = x.toDoubleVector();
  for (int64_t b = 0; b < y.numel(); ++b) {
    double* a = v.data() + b * n * n;
    double det = 1.0;
    for (int64_t c = 0; c < n && det != 0.0; ++c) {
      int64_t piv = c;
      for (int64_t r = c + 1; r < n; ++r)
        if (std::fabs(a[r * n + c]) > std::fabs(a[piv * n + c])) piv = r;
      if (a[piv * n + c] == 0.0) {
        det = 0.0;
        break;
      }
      if (piv != c) {
        for (int64_t j = 0; j < n; ++j) std::swap(a[c * n + j], a[piv * n + j]);
        det = -det;
      }
      det *= a[c * n + c];
      for (int64_t r = c + 1; r < n; ++r) {
        double f = a[r * n + c] / a[c * n + c];
        for (int64_t j = c; j < n; ++j) a[r * n + j] -= f * a[c * n + j];
      }
    }
    y.setDouble(b, det);
  }
  ctx.setOutput(0, std::move(y));
  return Status::success();
}

Status kEyeLike(KernelContext& ctx) {
  const Tensor& x = ctx.input(0);
  if (x.rank() != 2) return ctx.error("input must be 2-D");
  DType dt = x.dtype();
  if (ctx.op().hasAttr("dtype")) {
    auto d = dtypeFromOnnxCode(ctx.op().getInt("dtype"));
    if (!d || *d == DType::String) return ctx.error("unsupported dtype");
    dt = *d;
  }
  Tensor y(dt, x.shape());
  const int64_t k = ctx.op().getInt("k", 0);
  for (int64_t i = 0; i < x.dim(0); ++i) {
    int64_t j = i + k;
    if (j >= 0 && j < x.dim(1)) y.setInt(i * x.dim(1) + j, 1);
  }
  ctx.setOutput(0, std::move(y));
  return Status::success();
}

// Range: ceil((limit - start) / delta) elements start, start + delta, ...
Status kRange(KernelContext& ctx) {
  const Tensor& s = ctx.input(0);
  const Tensor& l = ctx.input(1);
  const Tensor& d = ctx.input(2);
  if (s.numel() != 1 || l.numel() != 1 || d.numel() != 1) return ctx.error("start, limit and delta must be scalars");
  if (s.dtype() != l.dtype() || s.dtype() != d.dtype()) return ctx.error("start, limit and delta must share a dtype");
  bool ok = true;
  DLC_DISPATCH_NUMERIC_OR(s.dtype(), ok = false, T, {
    using C = Compute<T>;
    C start = load(s.data<T>()[0]), limit = load(l.data<T>()[0]), delta = load(d.data<T>()[0]);
    if (delta == C(0)) return ctx.error("delta must not be zero");
    double count = std::ceil((static_cast<double>(limit) - static_cast<double>(start)) / static_cast<double>(delta));
    int64_t n = std::max<int64_t>(0, static_cast<int64_t>(count));
    Tensor y(s.dtype(), {n});
    T* out = y.data<T>();
    for (int64_t i = 0; i < n; ++i) out[i] = store<T>(static_cast<C>(start + static_cast<C>(i) * delta));
    ctx.setOutput(0, std::move(y));
  });
  if (!ok) return ctx.error("inputs must be numeric");
  return Status::success();
}

}  // namespace

void registerEinsumKernels(KernelTable& table) {
  table[static_cast<size_t>(OpKind::Einsum)] = &kEinsum;
  table[static_cast<size_t>(OpKind::Det)] = &kDet;
  table[static_cast<size_t>(OpKind::EyeLike)] = &kEyeLike;
  table[static_cast<size_t>(OpKind::Range)] = &kRange;
}

}  // namespace dlc::ref
