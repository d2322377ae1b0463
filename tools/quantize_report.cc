// `dlc quantize --report`'s JSON (quantize_report.h).
#include "tools/quantize_report.h"

#include <cmath>
#include <sstream>

#include "tools/cli.h"

namespace dlc::cli {
namespace {

const char* methodName(quantize::CalibrationMethod m) {
  switch (m) {
    case quantize::CalibrationMethod::MinMax: return "minmax";
    case quantize::CalibrationMethod::Percentile: return "percentile";
    case quantize::CalibrationMethod::Entropy: return "entropy";
    case quantize::CalibrationMethod::Mse: return "mse";
  }
  return "?";
}

std::string jsonNumber(double v) {
  if (std::isinf(v)) return v > 0 ? "\"inf\"" : "\"-inf\"";
  if (std::isnan(v)) return "null";
  std::ostringstream os;
  os.precision(9);
  os << v;
  return os.str();
}

}  // namespace

std::string reportJson(const std::string& model, const Quantized& q, const quantize::QuantizeOptions& options,
                       int64_t samples, double output_sqnr, double acc_float, double acc_quant, bool have_acc,
                       const BoundedSearch& bounded, const LatencySearch& latency, const std::string& target) {
  std::ostringstream j;
  j << "{\n  \"model\": " << jsonQuote(model) << ",\n  \"calibration_samples\": " << samples
    << ",\n  \"mode\": " << jsonQuote(options.mode == quantize::QuantizeMode::Static ? "static"
                                    : options.mode == quantize::QuantizeMode::Dynamic ? "dynamic"
                                    : options.mode == quantize::QuantizeMode::WeightOnly ? "weight-only"
                                    : str(options.half_dtype == DType::F16 ? "fp16" : "bf16", options.half_compute ? " compute" : " weights"))
    << ",\n  \"activation_dtype\": " << jsonQuote(dtypeName(options.activation_dtype))
    << ",\n  \"per_channel\": " << (options.per_channel ? "true" : "false")
    << ",\n  \"symmetric\": " << (options.symmetric ? "true" : "false")
    << ",\n  \"bias_correction\": " << (options.bias_correction ? "true" : "false")
    << ",\n  \"method\": " << jsonQuote(methodName(options.method));
  if (options.mode == quantize::QuantizeMode::WeightOnly)
    j << ",\n  \"weight_bits\": " << options.weight_bits << ",\n  \"block_size\": " << options.block_size;
  j
    << ",\n  \"quantized\": [";
  for (size_t i = 0; i < q.result.weights.size(); ++i) {
    const auto& w = q.result.weights[i];
    j << (i ? "," : "") << "\n    {\"node\": " << jsonQuote(w.node) << ", \"op\": " << jsonQuote(w.op_type)
      << ", \"weights\": " << w.elements << ", \"weight_sqnr_db\": " << jsonNumber(w.sqnr_db);
    if (options.bias_correction) j << ", \"bias_shift\": " << jsonNumber(w.bias_shift);
    j << "}";
  }
  j << "\n  ],\n  \"float\": [";
  for (size_t i = 0; i < q.plan.skipped.size(); ++i) {
    const auto& s = q.plan.skipped[i];
    j << (i ? "," : "") << "\n    {\"node\": " << jsonQuote(s.node) << ", \"op\": " << jsonQuote(s.op_type)
      << ", \"reason\": " << jsonQuote(s.reason) << "}";
  }
  j << "\n  ],\n  \"f32_compute\": [";
  for (size_t i = 0; i < q.result.f32_compute.size(); ++i) {
    const auto& s = q.result.f32_compute[i];
    j << (i ? "," : "") << "\n    {\"node\": " << jsonQuote(s.node) << ", \"op\": " << jsonQuote(s.op_type)
      << ", \"reason\": " << jsonQuote(s.reason) << "}";
  }
  j << "\n  ],\n  \"activations\": [";
  for (size_t i = 0; i < q.result.activations.size(); ++i) {
    const auto& a = q.result.activations[i];
    j << (i ? "," : "") << "\n    {\"tensor\": " << jsonQuote(a.tensor) << ", \"min\": " << jsonNumber(a.lo)
      << ", \"max\": " << jsonNumber(a.hi) << ", \"scale\": " << jsonNumber(a.params.scale)
      << ", \"zero_point\": " << a.params.zero_point << "}";
  }
  j << "\n  ],\n  \"output_sqnr_db\": " << jsonNumber(output_sqnr);
  if (have_acc) j << ",\n  \"accuracy_float\": " << jsonNumber(acc_float) << ",\n  \"accuracy_quantized\": " << jsonNumber(acc_quant);
  if (bounded.ran) {
    j << ",\n  \"accuracy_bound\": {\"max_drop\": " << jsonNumber(bounded.bound) << ", \"met\": " << (bounded.met ? "true" : "false")
      << ", \"evaluations\": " << bounded.evaluations << ", \"ranking\": [";
    for (size_t i = 0; i < bounded.ranking.size(); ++i)
      j << (i ? ", " : "") << "{\"node\": " << jsonQuote(bounded.ranking[i].first)
        << ", \"output_sqnr_db_alone\": " << jsonNumber(bounded.ranking[i].second) << "}";
    j << "]}";
  }
  if (latency.ran) {
    j << ",\n  \"latency\": {\"target\": " << jsonQuote(target) << ", \"float_ms\": " << jsonNumber(latency.float_ms)
      << ", \"all_quantized_ms\": " << jsonNumber(latency.quantized_ms) << ", \"chosen_ms\": " << jsonNumber(latency.final_ms)
      << ", \"float_faster\": " << (latency.float_faster ? "true" : "false") << ", \"trials\": [";
    for (size_t i = 0; i < latency.trials.size(); ++i) {
      const auto& t = latency.trials[i];
      j << (i ? ", " : "") << "{\"group\": " << jsonQuote(t.group) << ", \"layers\": " << t.nodes << ", \"ms\": " << jsonNumber(t.ms)
        << ", \"kept_float\": " << (t.kept_float ? "true" : "false") << "}";
    }
    j << "]}";
  }
  j << ",\n  \"weight_bytes_float\": " << q.result.float_weight_bytes << ",\n  \"weight_bytes_quantized\": "
    << q.result.quantized_weight_bytes << "\n}\n";
  return j.str();
}


}  // namespace dlc::cli
