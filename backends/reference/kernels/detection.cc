// Reference kernels: RoiAlign, MaxRoiPool and NonMaxSuppression (detection heads).
#include <algorithm>
#include <cmath>
#include <numeric>
#include <vector>

#include "backends/reference/kernels/nn_util.h"

namespace dlc::ref {
namespace {

// RoiAlign after ONNX Runtime (the ONNX reference follows it): each bin averages (or maxes) a grid
// of bilinear samples; samples more than one pixel outside the map contribute zero.
Status roiAlignKernel(KernelContext& ctx) {
  const Op& op = ctx.op();
  const Tensor& X = ctx.input(0);
  const Tensor& rois = ctx.input(1);
  const Tensor& bidx = ctx.input(2);
  if (!isNNFloat(X.dtype()) || X.rank() != 4) return ctx.error("X must be a float [N,C,H,W] tensor");
  if (rois.rank() != 2 || rois.dim(1) != 4) return ctx.error("rois must be [num_rois, 4]");
  if (bidx.numel() != rois.dim(0)) return ctx.error("batch_indices must have one entry per roi");
  const int64_t C = X.dim(1), H = X.dim(2), W = X.dim(3), R = rois.dim(0);
  const int64_t OH = op.getInt("output_height", 1), OW = op.getInt("output_width", 1), sr = op.getInt("sampling_ratio", 0);
  const double scale = op.getFloat("spatial_scale", 1.0f);
  const std::string mode = op.getString("mode", "avg"), ctm = op.getString("coordinate_transformation_mode", "half_pixel");
  if (mode != "avg" && mode != "max") return ctx.error(str("unknown mode '", mode, "'"));
  if (ctm != "half_pixel" && ctm != "output_half_pixel") return ctx.error(str("unknown coordinate_transformation_mode '", ctm, "'"));
  const bool half = ctm == "half_pixel";
  std::vector<double> x = X.toDoubleVector(), rv = rois.toDoubleVector();
  Tensor y(X.dtype(), {R, C, OH, OW});
  for (int64_t r = 0; r < R; ++r) {
    int64_t b = bidx.getInt(r);
    if (b < 0 || b >= X.dim(0)) return ctx.error(str("batch index ", b, " is out of range"));
    const double off = half ? 0.5 : 0.0;
    const double* roi = rv.data() + r * 4;
    double sw = roi[0] * scale - off, sh = roi[1] * scale - off, ew = roi[2] * scale - off, eh = roi[3] * scale - off;
    double rw = ew - sw, rh = eh - sh;
    if (!half) rw = std::max(rw, 1.0), rh = std::max(rh, 1.0);  // the legacy mode forces at least one pixel
    double bh = rh / static_cast<double>(OH), bw = rw / static_cast<double>(OW);
    int64_t gh = sr > 0 ? sr : static_cast<int64_t>(std::ceil(rh / static_cast<double>(OH)));
    int64_t gw = sr > 0 ? sr : static_cast<int64_t>(std::ceil(rw / static_cast<double>(OW)));
    double count = static_cast<double>(std::max<int64_t>(gh * gw, 1));
    for (int64_t c = 0; c < C; ++c) {
      const double* img = x.data() + (b * C + c) * H * W;
      for (int64_t ph = 0; ph < OH; ++ph)
        for (int64_t pw = 0; pw < OW; ++pw) {
          double acc = 0;
          bool first = true;
          for (int64_t iy = 0; iy < gh; ++iy)
            for (int64_t ix = 0; ix < gw; ++ix) {
              double yy = sh + static_cast<double>(ph) * bh + (static_cast<double>(iy) + 0.5) * bh / static_cast<double>(gh);
              double xx = sw + static_cast<double>(pw) * bw + (static_cast<double>(ix) + 0.5) * bw / static_cast<double>(gw);
              double v[4] = {0, 0, 0, 0};
              if (!(yy < -1.0 || yy > static_cast<double>(H) || xx < -1.0 || xx > static_cast<double>(W))) {
                yy = std::max(yy, 0.0), xx = std::max(xx, 0.0);
                int64_t yl = static_cast<int64_t>(yy), xl = static_cast<int64_t>(xx), yh, xh;
                if (yl >= H - 1) yh = yl = H - 1, yy = static_cast<double>(yl);
                else yh = yl + 1;
                if (xl >= W - 1) xh = xl = W - 1, xx = static_cast<double>(xl);
                else xh = xl + 1;
                double ly = yy - static_cast<double>(yl), lx = xx - static_cast<double>(xl), hy = 1 - ly, hx = 1 - lx;
                v[0] = hy * hx * img[yl * W + xl];
                v[1] = hy * lx * img[yl * W + xh];
                v[2] = ly * hx * img[yh * W + xl];
                v[3] = ly * lx * img[yh * W + xh];
              }
              if (mode == "avg") {
                acc += v[0] + v[1] + v[2] + v[3];
              } else {
                double m = std::max(std::max(v[0], v[1]), std::max(v[2], v[3]));
                acc = first ? m : std::max(acc, m);
              }
              first = false;
            }
          y.setDouble(((r * C + c) * OH + ph) * OW + pw, mode == "avg" ? acc / count : acc);
        }
    }
  }
  ctx.setOutput(0, y);
  return Status::success();
}

// MaxRoiPool (Caffe's ROIPooling): rois are (batch, x1, y1, x2, y2), rounded to whole pixels.
Status maxRoiPoolKernel(KernelContext& ctx) {
  const Tensor& X = ctx.input(0);
  const Tensor& rois = ctx.input(1);
  if (!isNNFloat(X.dtype()) || X.rank() != 4) return ctx.error("X must be a float [N,C,H,W] tensor");
  if (rois.rank() != 2 || rois.dim(1) != 5) return ctx.error("rois must be [num_rois, 5]");
  std::vector<int64_t> pooled = ctx.op().getInts("pooled_shape");
  if (pooled.size() != 2 || pooled[0] < 1 || pooled[1] < 1) return ctx.error("pooled_shape must be two positive values");
  const double scale = ctx.op().getFloat("spatial_scale", 1.0f);
  const int64_t C = X.dim(1), H = X.dim(2), W = X.dim(3), R = rois.dim(0), PH = pooled[0], PW = pooled[1];
  std::vector<double> x = X.toDoubleVector();
  Tensor y(X.dtype(), {R, C, PH, PW});
  for (int64_t r = 0; r < R; ++r) {
    int64_t b = static_cast<int64_t>(rois.getDouble(r * 5));
    if (b < 0 || b >= X.dim(0)) return ctx.error(str("roi batch index ", b, " is out of range"));
    int64_t x1 = static_cast<int64_t>(std::round(rois.getDouble(r * 5 + 1) * scale));
    int64_t y1 = static_cast<int64_t>(std::round(rois.getDouble(r * 5 + 2) * scale));
    int64_t x2 = static_cast<int64_t>(std::round(rois.getDouble(r * 5 + 3) * scale));
    int64_t y2 = static_cast<int64_t>(std::round(rois.getDouble(r * 5 + 4) * scale));
    double bh = static_cast<double>(std::max<int64_t>(y2 - y1 + 1, 1)) / static_cast<double>(PH);
    double bw = static_cast<double>(std::max<int64_t>(x2 - x1 + 1, 1)) / static_cast<double>(PW);
    for (int64_t c = 0; c < C; ++c) {
      const double* img = x.data() + (b * C + c) * H * W;
      for (int64_t ph = 0; ph < PH; ++ph)
        for (int64_t pw = 0; pw < PW; ++pw) {
          auto clampH = [&](int64_t v) { return std::min(std::max<int64_t>(v, 0), H); };
          auto clampW = [&](int64_t v) { return std::min(std::max<int64_t>(v, 0), W); };
          int64_t hs = clampH(static_cast<int64_t>(std::floor(static_cast<double>(ph) * bh)) + y1);
          int64_t he = clampH(static_cast<int64_t>(std::ceil(static_cast<double>(ph + 1) * bh)) + y1);
          int64_t ws = clampW(static_cast<int64_t>(std::floor(static_cast<double>(pw) * bw)) + x1);
          int64_t we = clampW(static_cast<int64_t>(std::ceil(static_cast<double>(pw + 1) * bw)) + x1);
          double m = 0;
          if (he > hs && we > ws) {
            m = -INFINITY;
            for (int64_t i = hs; i < he; ++i)
              for (int64_t j = ws; j < we; ++j) m = std::max(m, img[i * W + j]);
          }
          y.setDouble(((r * C + c) * PH + ph) * PW + pw, m);
        }
    }
  }
  ctx.setOutput(0, y);
  return Status::success();
}

// Greedy per (batch, class) suppression in descending score order (ties by box index).
Status nmsKernel(KernelContext& ctx) {
  const Tensor& boxes = ctx.input(0);
  const Tensor& scores = ctx.input(1);
  if (boxes.rank() != 3 || boxes.dim(2) != 4) return ctx.error("boxes must be [batch, boxes, 4]");
  if (scores.rank() != 3 || scores.dim(0) != boxes.dim(0) || scores.dim(2) != boxes.dim(1))
    return ctx.error("scores must be [batch, classes, boxes] matching boxes");
  int64_t max_out = ctx.hasInput(2) && ctx.input(2).numel() > 0 ? ctx.input(2).getInt(0) : 0;
  double iou_th = ctx.hasInput(3) && ctx.input(3).numel() > 0 ? ctx.input(3).getDouble(0) : 0.0;
  bool has_score_th = ctx.hasInput(4) && ctx.input(4).numel() > 0;
  double score_th = has_score_th ? ctx.input(4).getDouble(0) : 0.0;
  if (iou_th < 0 || iou_th > 1) return ctx.error("iou_threshold must be in [0, 1]");
  const bool center = ctx.op().getInt("center_point_box", 0) != 0;
  const int64_t B = boxes.dim(0), NB = boxes.dim(1), NC = scores.dim(1);
  std::vector<double> bx = boxes.toDoubleVector(), sc = scores.toDoubleVector();
  // Corners as (y1, x1, y2, x2) with y1 <= y2 and x1 <= x2.
  auto corners = [&](int64_t b, int64_t i, double out[4]) {
    const double* p = bx.data() + (b * NB + i) * 4;
    if (center) {
      out[0] = p[1] - p[3] / 2, out[1] = p[0] - p[2] / 2, out[2] = p[1] + p[3] / 2, out[3] = p[0] + p[2] / 2;
    } else {
      out[0] = std::min(p[0], p[2]), out[1] = std::min(p[1], p[3]), out[2] = std::max(p[0], p[2]), out[3] = std::max(p[1], p[3]);
    }
  };
  auto iou = [&](int64_t b, int64_t i, int64_t j) {
    double a[4], c[4];
    corners(b, i, a);
    corners(b, j, c);
    double ih = std::max(0.0, std::min(a[2], c[2]) - std::max(a[0], c[0]));
    double iw = std::max(0.0, std::min(a[3], c[3]) - std::max(a[1], c[1]));
    double inter = ih * iw, uni = (a[2] - a[0]) * (a[3] - a[1]) + (c[2] - c[0]) * (c[3] - c[1]) - inter;
    return inter <= 0 || uni <= 0 ? 0.0 : inter / uni;
  };
  std::vector<int64_t> selected;
  for (int64_t b = 0; b < B; ++b)
    for (int64_t c = 0; c < NC; ++c) {
      const double* s = sc.data() + (b * NC + c) * NB;
      std::vector<int64_t> order;
      for (int64_t i = 0; i < NB; ++i)
        if (!has_score_th || s[i] > score_th) order.push_back(i);
      std::stable_sort(order.begin(), order.end(), [&](int64_t i, int64_t j) { return s[i] > s[j]; });
      std::vector<int64_t> kept;
      for (int64_t i : order) {
        if (static_cast<int64_t>(kept.size()) >= max_out) break;
        bool keep = true;
        for (int64_t k : kept)
          if (iou(b, i, k) > iou_th) {
            keep = false;
            break;
          }
        if (keep) kept.push_back(i);
      }
      for (int64_t k : kept) selected.insert(selected.end(), {b, c, k});
    }
  ctx.setOutput(0, Tensor::fromVector(DType::I64, {static_cast<int64_t>(selected.size() / 3), 3}, selected));
  return Status::success();
}

}  // namespace

void registerDetectionKernels(KernelTable& t) {
  t[static_cast<size_t>(OpKind::RoiAlign)] = roiAlignKernel;
  t[static_cast<size_t>(OpKind::MaxRoiPool)] = maxRoiPoolKernel;
  t[static_cast<size_t>(OpKind::NonMaxSuppression)] = nmsKernel;
}

}  // namespace dlc::ref
