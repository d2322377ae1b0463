// Reference kernels: LSTM, GRU and RNN (all directions, both layouts, sequence_lens, peepholes,
// clip, every ONNX activation), and their dynamically quantized forms DynamicQuantizeLSTM/GRU
// (ir/ops.def). X*W^T for all steps is one GEMM; each step adds one H*R^T GEMM.
#include <cctype>
#include <cmath>
#include <string>
#include <vector>

#include "backends/reference/gemm.h"
#include "backends/reference/kernels/dynamic_range.h"
#include "backends/reference/kernels/activations.h"
#include "backends/reference/kernels/nn_util.h"

namespace dlc::ref {
namespace {

enum class Cell { LSTM, GRU, RNN };

struct Activation {
  enum Kind { Sigmoid, Tanh, Relu, HardSigmoid, Affine, LeakyRelu, ThresholdedRelu, ScaledTanh, Elu, Softsign, Softplus };
  Kind kind = Tanh;
  double alpha = 0, beta = 0;

  // Applies the function to a whole gate vector (the switch sits outside the element loop).
  template <typename T>
  void apply(T* v, int64_t n) const {
    const T a = static_cast<T>(alpha), b = static_cast<T>(beta);
    switch (kind) {
      case Sigmoid: for (int64_t i = 0; i < n; ++i) v[i] = act::sigmoid(v[i]); break;
      case Tanh: for (int64_t i = 0; i < n; ++i) v[i] = std::tanh(v[i]); break;
      case Relu: for (int64_t i = 0; i < n; ++i) v[i] = act::relu(v[i]); break;
      case HardSigmoid: for (int64_t i = 0; i < n; ++i) v[i] = act::hardSigmoid(v[i], a, b); break;
      case Affine: for (int64_t i = 0; i < n; ++i) v[i] = a * v[i] + b; break;
      case LeakyRelu: for (int64_t i = 0; i < n; ++i) v[i] = act::leakyRelu(v[i], a); break;
      case ThresholdedRelu: for (int64_t i = 0; i < n; ++i) v[i] = v[i] > a ? v[i] : T(0); break;
      case ScaledTanh: for (int64_t i = 0; i < n; ++i) v[i] = a * std::tanh(b * v[i]); break;
      case Elu: for (int64_t i = 0; i < n; ++i) v[i] = v[i] >= 0 ? v[i] : a * (std::exp(v[i]) - T(1)); break;
      case Softsign: for (int64_t i = 0; i < n; ++i) v[i] = act::softsign(v[i]); break;
      case Softplus: for (int64_t i = 0; i < n; ++i) v[i] = act::softplus(v[i]); break;
    }
  }
};

// Parses `activations` (per direction: LSTM f,g,h; GRU f,g; RNN f). activation_alpha/beta are
// consumed in order by the functions that take them; the rest use the ONNX defaults.
Status parseActivations(const KernelContext& ctx, int per_dir, int num_dir, std::vector<std::string> defaults,
                        std::vector<Activation>* out) {
  // Only an explicit attribute counts: RNN's table default lists two functions even for one direction.
  std::vector<std::string> names = ctx.op().hasAttr("activations") ? ctx.op().getStrings("activations") : defaults;
  if (static_cast<int>(names.size()) == per_dir && num_dir == 2) {
    std::vector<std::string> forward = names;  // inserting a vector's own range into it is undefined
    names.insert(names.end(), forward.begin(), forward.end());
  }
  if (static_cast<int>(names.size()) != per_dir * num_dir)
    return ctx.error(str("expects ", per_dir * num_dir, " activations, got ", names.size()));
  std::vector<float> alphas = ctx.op().getFloats("activation_alpha"), betas = ctx.op().getFloats("activation_beta");
  size_t ai = 0, bi = 0;
  for (std::string n : names) {
    for (char& c : n) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    Activation a;
    bool uses_alpha = true, uses_beta = false;
    if (n == "sigmoid") a.kind = Activation::Sigmoid, uses_alpha = false;
    else if (n == "tanh") a.kind = Activation::Tanh, uses_alpha = false;
    else if (n == "relu") a.kind = Activation::Relu, uses_alpha = false;
    else if (n == "softsign") a.kind = Activation::Softsign, uses_alpha = false;
    else if (n == "softplus") a.kind = Activation::Softplus, uses_alpha = false;
    else if (n == "hardsigmoid") a.kind = Activation::HardSigmoid, a.alpha = 0.2, a.beta = 0.5, uses_beta = true;
    else if (n == "affine") a.kind = Activation::Affine, a.alpha = 1.0, a.beta = 0.0, uses_beta = true;
    else if (n == "leakyrelu") a.kind = Activation::LeakyRelu, a.alpha = 0.01;
    else if (n == "thresholdedrelu") a.kind = Activation::ThresholdedRelu, a.alpha = 1.0;
    else if (n == "scaledtanh") a.kind = Activation::ScaledTanh, a.alpha = 1.0, a.beta = 1.0, uses_beta = true;
    else if (n == "elu") a.kind = Activation::Elu, a.alpha = 1.0;
    else return ctx.error(str("unknown activation '", n, "'"));
    if (uses_alpha && ai < alphas.size()) a.alpha = alphas[ai++];
    if (uses_beta && bi < betas.size()) a.beta = betas[bi++];
    out->push_back(a);
  }
  return Status::success();
}

// C[m, n] = A[m, k] · B[k, n] with B's rows ldb apart.
inline void gemmN(int64_t m, int64_t n, int64_t k, const float* a, const float* b, int64_t ldb, float* c) {
  gemmF32(false, false, m, n, k, 1.0f, a, k, b, ldb, 0.0f, c, n);
}
inline void gemmN(int64_t m, int64_t n, int64_t k, const double* a, const double* b, int64_t ldb, double* c) {
  gemmF64(false, false, m, n, k, 1.0, a, k, b, ldb, 0.0, c, n);
}

// Swaps the first two dims of a [A, B, rest] buffer (layout 1 <-> layout 0).
template <typename T>
std::vector<T> swap01(const T* src, int64_t A, int64_t B, int64_t rest) {
  std::vector<T> out(static_cast<size_t>(A * B * rest));
  for (int64_t a = 0; a < A; ++a)
    for (int64_t b = 0; b < B; ++b)
      std::copy(src + (a * B + b) * rest, src + (a * B + b + 1) * rest, out.data() + (b * A + a) * rest);
  return out;
}

// One direction's weights and the product out[m, j] = sum_k a[m, k] w(n0 + j, k), j < n. Float
// weights (ONNX's [N, K] rows) are transposed once to [K, N], so that no step packs them again.
// The DynamicQuantize ops' 8-bit weights come in GEMM order [K, N] and are kept as q - zp in
// [N, K] rows with a scale per column (or one); `a` is then quantized to u8 over its own range
// (DynamicQuantizeLinear's rule) and the sums are exact int32:
//   sum_k (a_q - a_z) s_a (q - z) s_w = s_a s_w sum_k (a_q - a_z)(q - z).
template <typename T>
struct Projection {
  std::vector<T> w;             // float: [K, N]
  std::vector<int16_t> q;       // quantized: [N, K], zero point subtracted
  std::vector<float> scale;     // quantized: [N], or one for all columns
  int64_t k = 0, columns = 0;   // K and N

  void setFloat(const T* w_nk, int64_t n_, int64_t k_) {
    k = k_, columns = n_;
    w.resize(static_cast<size_t>(n_ * k_));
    for (int64_t j = 0; j < n_; ++j)
      for (int64_t i = 0; i < k_; ++i) w[static_cast<size_t>(i * n_ + j)] = w_nk[j * k_ + i];
  }

  // Scratch of the quantized product, kept between steps so that a step allocates nothing.
  mutable std::vector<float> af;
  mutable std::vector<int16_t> aq;
  mutable std::vector<int32_t> acc;

  void apply(int64_t m, int64_t n0, int64_t n, const T* a, T* out) const {
    if (q.empty()) return gemmN(m, n, k, a, w.data() + n0, columns, out);
    af.assign(a, a + m * k);  // T is float for the quantized ops; the copy is for f64's sake
    const DynamicRange r = DynamicRange::of(af.data(), m * k);
    aq.resize(static_cast<size_t>(m * k));
    for (size_t i = 0; i < aq.size(); ++i) aq[i] = static_cast<int16_t>(r.quantize(af[i]) - static_cast<int>(r.zero_point));
    acc.resize(static_cast<size_t>(m * n));
    gemmS16T(m, n, k, aq.data(), k, q.data() + n0 * k, k, acc.data(), n);
    for (int64_t i = 0; i < m; ++i)
      for (int64_t j = 0; j < n; ++j) {
        const float s = r.scale * scale[scale.size() == 1 ? 0 : static_cast<size_t>(n0 + j)];
        out[i * n + j] = static_cast<T>(static_cast<float>(acc[static_cast<size_t>(i * n + j)]) * s);
      }
  }
};

struct RnnDims {
  int64_t seq, batch, input, hidden, dirs, gates;
  bool layout1;
};

template <typename T>
Status runRecurrent(KernelContext& ctx, Cell cell, const RnnDims& d, const std::vector<Activation>& acts,
                    const std::vector<Projection<T>>& Wp, const std::vector<Projection<T>>& Rp, DType out_dtype) {
  const Op& op = ctx.op();
  const int64_t S = d.seq, Bt = d.batch, I = d.input, H = d.hidden, G = d.gates, GH = G * H;
  const int per_dir = cell == Cell::LSTM ? 3 : cell == Cell::GRU ? 2 : 1;
  auto load = [&](int i) { return ctx.input(i).castTo(computeDType(out_dtype)); };
  Tensor Xt = load(0);
  std::vector<T> x = d.layout1 ? swap01(Xt.data<T>(), Bt, S, I) : std::vector<T>(Xt.data<T>(), Xt.data<T>() + Xt.numel());
  std::vector<T> bias(static_cast<size_t>(d.dirs * 2 * GH), T(0));
  if (ctx.hasInput(3)) {
    if (ctx.input(3).numel() != d.dirs * 2 * GH) return ctx.error(str("B must be [", d.dirs, ",", 2 * GH, "]"));
    Tensor b = load(3);
    std::copy(b.data<T>(), b.data<T>() + b.numel(), bias.begin());
  }
  std::vector<int64_t> lens(static_cast<size_t>(Bt), S);
  if (ctx.hasInput(4)) {
    if (ctx.input(4).numel() != Bt) return ctx.error(str("sequence_lens must have ", Bt, " elements"));
    lens = ctx.input(4).toInt64Vector();
    for (int64_t l : lens)
      if (l < 0 || l > S) return ctx.error(str("sequence length ", l, " is outside [0, ", S, "]"));
  }
  // Initial states as [dirs, batch, H] whatever the layout.
  auto initState = [&](int i) {
    std::vector<T> s(static_cast<size_t>(d.dirs * Bt * H), T(0));
    if (ctx.hasInput(i)) {
      Tensor t = load(i);
      if (t.numel() == static_cast<int64_t>(s.size()))
        s = d.layout1 ? swap01(t.data<T>(), Bt, d.dirs, H) : std::vector<T>(t.data<T>(), t.data<T>() + t.numel());
    }
    return s;
  };
  for (int i : {5, 6})
    if ((i == 5 || cell == Cell::LSTM) && ctx.hasInput(i) && ctx.input(i).numel() != d.dirs * Bt * H)
      return ctx.error(str("initial state ", i, " has the wrong size"));
  std::vector<T> h_state = initState(5), c_state = cell == Cell::LSTM ? initState(6) : std::vector<T>{};
  std::vector<T> peep(static_cast<size_t>(d.dirs * 3 * H), T(0));
  if (cell == Cell::LSTM && ctx.hasInput(7)) {
    if (ctx.input(7).numel() != d.dirs * 3 * H) return ctx.error(str("P must be [", d.dirs, ",", 3 * H, "]"));
    Tensor p = load(7);
    std::copy(p.data<T>(), p.data<T>() + p.numel(), peep.begin());
  }
  const bool has_clip = op.hasAttr("clip");
  const T clip = static_cast<T>(op.getFloat("clip", 0.0f));
  const bool input_forget = cell == Cell::LSTM && op.getInt("input_forget", 0) != 0;
  const bool lbr = cell == Cell::GRU && op.getInt("linear_before_reset", 0) != 0;
  const std::string direction = op.getString("direction", "forward");
  auto clipv = [&](T* v, int64_t n) {
    if (has_clip)
      for (int64_t i = 0; i < n; ++i) v[i] = std::min(clip, std::max(-clip, v[i]));
  };

  std::vector<T> y(static_cast<size_t>(S * d.dirs * Bt * H), T(0));  // [seq, dirs, batch, H]
  std::vector<T> xw(static_cast<size_t>(S * Bt * GH)), hr(static_cast<size_t>(Bt * GH)), g1(static_cast<size_t>(H)),
      g2(static_cast<size_t>(H)), g3(static_cast<size_t>(H)), rh(static_cast<size_t>(Bt * H)),
      rhr(static_cast<size_t>(Bt * H)), zsave(static_cast<size_t>(Bt * H)), hnew(static_cast<size_t>(Bt * H));
  for (int64_t dir = 0; dir < d.dirs; ++dir) {
    const bool reverse = direction == "reverse" || dir == 1;
    const Projection<T>& W = Wp[static_cast<size_t>(dir)];
    const Projection<T>& R = Rp[static_cast<size_t>(dir)];
    const T* wb = bias.data() + dir * 2 * GH;
    const T* rb = wb + GH;
    const T* P = peep.data() + dir * 3 * H;
    const Activation* f = &acts[static_cast<size_t>(dir * per_dir)];
    T* hs = h_state.data() + dir * Bt * H;
    T* cs = cell == Cell::LSTM ? c_state.data() + dir * Bt * H : nullptr;
    // Input projection of every step, with the biases that sit outside any reset gate.
    W.apply(S * Bt, 0, GH, x.data(), xw.data());
    for (int64_t r = 0; r < S * Bt; ++r)
      for (int64_t j = 0; j < GH; ++j)
        xw[static_cast<size_t>(r * GH + j)] += wb[j] + (cell == Cell::GRU && j >= 2 * H ? T(0) : rb[j]);
    for (int64_t step = 0; step < S; ++step) {
      R.apply(Bt, 0, GH, hs, hr.data());
      if (cell == Cell::GRU) {
        // z and r first: without linear_before_reset the h gate needs (r . H) * Rh^T.
        for (int64_t b = 0; b < Bt; ++b) {
          if (step >= lens[static_cast<size_t>(b)]) continue;
          int64_t t = reverse ? lens[static_cast<size_t>(b)] - 1 - step : step;
          const T* xr = xw.data() + (t * Bt + b) * GH;
          const T* hrb = hr.data() + b * GH;
          T* z = zsave.data() + b * H;
          for (int64_t j = 0; j < H; ++j) z[j] = xr[j] + hrb[j], g2[static_cast<size_t>(j)] = xr[H + j] + hrb[H + j];
          clipv(z, H), clipv(g2.data(), H);
          f[0].apply(z, H), f[0].apply(g2.data(), H);
          for (int64_t j = 0; j < H; ++j) {
            T rj = g2[static_cast<size_t>(j)];
            if (lbr) rhr[static_cast<size_t>(b * H + j)] = rj * (hrb[2 * H + j] + rb[2 * H + j]);
            else rh[static_cast<size_t>(b * H + j)] = rj * hs[b * H + j];
          }
        }
        if (!lbr) {
          R.apply(Bt, 2 * H, H, rh.data(), rhr.data());
          for (int64_t b = 0; b < Bt; ++b)
            for (int64_t j = 0; j < H; ++j) rhr[static_cast<size_t>(b * H + j)] += rb[2 * H + j];
        }
      }
      for (int64_t b = 0; b < Bt; ++b) {
        int64_t len = lens[static_cast<size_t>(b)];
        if (step >= len) continue;  // past this sequence's end: state kept, Y stays zero
        int64_t t = reverse ? len - 1 - step : step;
        const T* xr = xw.data() + (t * Bt + b) * GH;
        const T* hrb = hr.data() + b * GH;
        T* h = hs + b * H;
        T* hn = hnew.data() + b * H;
        if (cell == Cell::RNN) {
          for (int64_t j = 0; j < H; ++j) hn[j] = xr[j] + hrb[j];
          clipv(hn, H);
          f[0].apply(hn, H);
        } else if (cell == Cell::GRU) {
          for (int64_t j = 0; j < H; ++j) g3[static_cast<size_t>(j)] = xr[2 * H + j] + rhr[static_cast<size_t>(b * H + j)];
          clipv(g3.data(), H);
          f[1].apply(g3.data(), H);
          const T* z = zsave.data() + b * H;
          for (int64_t j = 0; j < H; ++j) hn[j] = (T(1) - z[j]) * g3[static_cast<size_t>(j)] + z[j] * h[j];
        } else {
          // Gate blocks are ordered i, o, f, c; peepholes i, o, f.
          T* c = cs + b * H;
          for (int64_t j = 0; j < H; ++j) {
            size_t u = static_cast<size_t>(j);
            g1[u] = xr[j] + hrb[j] + P[j] * c[j];                  // i
            g2[u] = xr[2 * H + j] + hrb[2 * H + j] + P[2 * H + j] * c[j];  // f
            g3[u] = xr[3 * H + j] + hrb[3 * H + j];                // c~
          }
          clipv(g1.data(), H), clipv(g2.data(), H), clipv(g3.data(), H);
          f[0].apply(g1.data(), H);
          if (input_forget)
            for (int64_t j = 0; j < H; ++j) g2[static_cast<size_t>(j)] = T(1) - g1[static_cast<size_t>(j)];
          else
            f[0].apply(g2.data(), H);
          f[1].apply(g3.data(), H);
          for (int64_t j = 0; j < H; ++j) {
            size_t u = static_cast<size_t>(j);
            c[j] = g2[u] * c[j] + g1[u] * g3[u];
            hn[j] = xr[H + j] + hrb[H + j] + P[H + j] * c[j];  // o uses the new cell state
          }
          clipv(hn, H);
          f[0].apply(hn, H);
          for (int64_t j = 0; j < H; ++j) g1[static_cast<size_t>(j)] = c[j];
          f[2].apply(g1.data(), H);
          for (int64_t j = 0; j < H; ++j) hn[j] *= g1[static_cast<size_t>(j)];
        }
        std::copy(hn, hn + H, y.data() + ((t * d.dirs + dir) * Bt + b) * H);
      }
      // States update after the whole batch so the GRU's (r . H) products saw the old state.
      for (int64_t b = 0; b < Bt; ++b)
        if (step < lens[static_cast<size_t>(b)]) std::copy(hnew.data() + b * H, hnew.data() + (b + 1) * H, hs + b * H);
    }
  }
  DType ct = computeDType(out_dtype);
  auto emit = [&](int i, const std::vector<T>& v, std::vector<int64_t> shape) {
    if (i < ctx.numOutputs()) ctx.setOutput(i, Tensor::fromVector(ct, std::move(shape), v).castTo(out_dtype));
  };
  if (d.layout1) {
    // [seq, dirs, batch, H] -> [batch, seq, dirs, H]
    std::vector<T> o(y.size());
    for (int64_t t = 0; t < S; ++t)
      for (int64_t dd = 0; dd < d.dirs; ++dd)
        for (int64_t b = 0; b < Bt; ++b)
          std::copy(y.data() + ((t * d.dirs + dd) * Bt + b) * H, y.data() + ((t * d.dirs + dd) * Bt + b + 1) * H,
                    o.data() + ((b * S + t) * d.dirs + dd) * H);
    emit(0, o, {Bt, S, d.dirs, H});
    emit(1, swap01(h_state.data(), d.dirs, Bt, H), {Bt, d.dirs, H});
    if (cell == Cell::LSTM) emit(2, swap01(c_state.data(), d.dirs, Bt, H), {Bt, d.dirs, H});
  } else {
    emit(0, y, {S, d.dirs, Bt, H});
    emit(1, h_state, {d.dirs, Bt, H});
    if (cell == Cell::LSTM) emit(2, c_state, {d.dirs, Bt, H});
  }
  return Status::success();
}

// q [K, N] 8-bit codes -> out [N, K] int16 codes minus the column's zero point, in tiles that
// keep both sides in cache.
template <typename Code>
void transposeCentered(const Code* q, int64_t k, int64_t n, const int16_t* zero_points, int16_t* out) {
  constexpr int64_t kTile = 64;
  for (int64_t i0 = 0; i0 < k; i0 += kTile)
    for (int64_t j0 = 0; j0 < n; j0 += kTile)
      for (int64_t i = i0; i < std::min(k, i0 + kTile); ++i)
        for (int64_t j = j0; j < std::min(n, j0 + kTile); ++j)
          out[j * k + i] = static_cast<int16_t>(static_cast<int16_t>(q[i * n + j]) - zero_points[j]);
}

// The 8-bit weights of the DynamicQuantize ops, one Projection per direction: w [D, K, N] (GEMM
// order) with scale and zero point [D] or [D, N].
Status quantizedProjections(KernelContext& ctx, int w_in, int scale_in, int64_t dirs, int64_t k, int64_t n,
                            std::vector<Projection<float>>* out) {
  const Tensor& w = ctx.input(w_in);
  const Tensor& scale = ctx.input(scale_in);
  const Tensor& zp = ctx.input(scale_in + 1);
  const char* name = w_in == 1 ? "W" : "R";
  if (w.dtype() != DType::I8 && w.dtype() != DType::U8) return ctx.error(str(name, " must be int8 or uint8"));
  if (w.rank() != 3 || w.dim(0) != dirs || w.dim(1) != k || w.dim(2) != n)
    return ctx.error(str(name, " must be [", dirs, ",", k, ",", n, "], got ", Shape::of(w.shape()).toString()));
  for (const Tensor* p : {&scale, &zp}) {
    const bool per_dir = p->rank() == 1 && p->dim(0) == dirs, per_col = p->rank() == 2 && p->dim(0) == dirs && p->dim(1) == n;
    if (!per_dir && !per_col)
      return ctx.error(str(name, "'s scale and zero point must be [", dirs, "] or [", dirs, ",", n, "], got ", Shape::of(p->shape()).toString()));
  }
  if (scale.dtype() != DType::F32 || zp.dtype() != w.dtype())
    return ctx.error(str(name, "'s scale must be f32 and its zero point ", dtypeName(w.dtype())));
  const int64_t per_dir_scales = scale.numel() / dirs, per_dir_zps = zp.numel() / dirs;
  for (int64_t d = 0; d < dirs; ++d) {
    Projection<float> p;
    p.k = k, p.columns = n;
    p.q.resize(static_cast<size_t>(n * k));
    std::vector<int16_t> z(static_cast<size_t>(n));
    for (int64_t j = 0; j < n; ++j) z[static_cast<size_t>(j)] = static_cast<int16_t>(zp.getInt(d * per_dir_zps + (per_dir_zps == 1 ? 0 : j)));
    if (w.dtype() == DType::I8) transposeCentered(w.data<int8_t>() + d * k * n, k, n, z.data(), p.q.data());
    else transposeCentered(w.data<uint8_t>() + d * k * n, k, n, z.data(), p.q.data());
    for (int64_t j = 0; j < per_dir_scales; ++j) p.scale.push_back(static_cast<float>(scale.getDouble(d * per_dir_scales + j)));
    out->push_back(std::move(p));
  }
  return Status::success();
}

// LSTM, GRU and RNN (float weights), and DynamicQuantizeLSTM/GRU (8-bit weights in GEMM order,
// their scales and zero points after the float operands).
template <Cell C, bool kQuantized>
Status recurrentKernel(KernelContext& ctx) {
  const Op& op = ctx.op();
  const Tensor& X = ctx.input(0);
  const Tensor& W = ctx.input(1);
  const Tensor& R = ctx.input(2);
  if (kQuantized ? X.dtype() != DType::F32 : !isNNFloat(X.dtype()) || W.dtype() != X.dtype() || R.dtype() != X.dtype())
    return ctx.error(kQuantized ? "X must be f32" : "X, W and R must be floats of one dtype");
  if (X.rank() != 3 || W.rank() != 3 || R.rank() != 3) return ctx.error("X, W and R must be rank 3");
  RnnDims d;
  d.layout1 = op.getInt("layout", 0) != 0;
  d.seq = X.dim(d.layout1 ? 1 : 0);
  d.batch = X.dim(d.layout1 ? 0 : 1);
  d.input = X.dim(2);
  d.gates = C == Cell::LSTM ? 4 : C == Cell::GRU ? 3 : 1;
  std::string direction = op.getString("direction", "forward");
  if (direction != "forward" && direction != "reverse" && direction != "bidirectional")
    return ctx.error(str("unknown direction '", direction, "'"));
  d.dirs = direction == "bidirectional" ? 2 : 1;
  const int gate_axis = kQuantized ? 2 : 1;
  d.hidden = op.hasAttr("hidden_size") ? op.getInt("hidden_size") : W.dim(gate_axis) / d.gates;
  const int64_t GH = d.gates * d.hidden;
  std::vector<Activation> acts;
  if (C == Cell::LSTM) DLC_RETURN_IF_ERROR(parseActivations(ctx, 3, static_cast<int>(d.dirs), {"Sigmoid", "Tanh", "Tanh"}, &acts));
  if (C == Cell::GRU) DLC_RETURN_IF_ERROR(parseActivations(ctx, 2, static_cast<int>(d.dirs), {"Sigmoid", "Tanh"}, &acts));
  if (C == Cell::RNN) DLC_RETURN_IF_ERROR(parseActivations(ctx, 1, static_cast<int>(d.dirs), {"Tanh"}, &acts));
  if (kQuantized) {
    const int first_scale = C == Cell::LSTM ? 8 : 6;
    std::vector<Projection<float>> wp, rp;
    DLC_RETURN_IF_ERROR(quantizedProjections(ctx, 1, first_scale, d.dirs, d.input, GH, &wp));
    DLC_RETURN_IF_ERROR(quantizedProjections(ctx, 2, first_scale + 2, d.dirs, d.hidden, GH, &rp));
    return runRecurrent<float>(ctx, C, d, acts, wp, rp, X.dtype());
  }
  if (W.dim(0) != d.dirs || W.dim(1) != GH || W.dim(2) != d.input)
    return ctx.error(str("W must be [", d.dirs, ",", GH, ",", d.input, "]"));
  if (R.dim(0) != d.dirs || R.dim(1) != GH || R.dim(2) != d.hidden)
    return ctx.error(str("R must be [", d.dirs, ",", GH, ",", d.hidden, "]"));
  DLC_NN_FLOAT_DISPATCH(computeDType(X.dtype()), T, {
    const Tensor wt = W.castTo(computeDType(X.dtype())), rt = R.castTo(computeDType(X.dtype()));
    std::vector<Projection<T>> wp(static_cast<size_t>(d.dirs)), rp(static_cast<size_t>(d.dirs));
    for (int64_t dir = 0; dir < d.dirs; ++dir) {
      wp[static_cast<size_t>(dir)].setFloat(wt.data<T>() + dir * GH * d.input, GH, d.input);
      rp[static_cast<size_t>(dir)].setFloat(rt.data<T>() + dir * GH * d.hidden, GH, d.hidden);
    }
    return runRecurrent<T>(ctx, C, d, acts, wp, rp, X.dtype());
  });
}

}  // namespace

void registerRnnKernels(KernelTable& t) {
  t[static_cast<size_t>(OpKind::LSTM)] = recurrentKernel<Cell::LSTM, false>;
  t[static_cast<size_t>(OpKind::GRU)] = recurrentKernel<Cell::GRU, false>;
  t[static_cast<size_t>(OpKind::RNN)] = recurrentKernel<Cell::RNN, false>;
  t[static_cast<size_t>(OpKind::DynamicQuantizeLSTM)] = recurrentKernel<Cell::LSTM, true>;
  t[static_cast<size_t>(OpKind::DynamicQuantizeGRU)] = recurrentKernel<Cell::GRU, true>;
}

}  // namespace dlc::ref
