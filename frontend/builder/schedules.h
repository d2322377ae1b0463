// Learning-rate schedules as IR: the rate of optimizer step s (0-based, an f32 scalar) in closed
// form, each matching the torch.optim.lr_scheduler class it is named after when that scheduler is
// stepped once per optimizer step.
#pragma once

#include <string>
#include <vector>

#include "frontend/builder/model.h"

namespace dlc::builder {

struct ScheduleOptions {
  std::string name = "constant";  // constant step multistep exponential cosine cosine-restarts cyclic one-cycle
  int64_t warmup = 0;             // LinearLR warm-up steps before the schedule (SequentialLR)
  double warmup_factor = 1.0 / 3;  // LinearLR's start_factor
  int64_t step_size = 1;          // step: StepLR's step_size
  double gamma = 0.1;             // step, multistep, exponential
  std::vector<int64_t> milestones;  // multistep
  int64_t t_max = 0;              // cosine (CosineAnnealingLR's T_max)
  double eta_min = 0;             // cosine, cosine-restarts
  int64_t t_0 = 0, t_mult = 1;    // cosine-restarts (CosineAnnealingWarmRestarts)
  double max_lr = 0;              // cyclic (CyclicLR triangular; base_lr is the lr), one-cycle
  int64_t step_size_up = 2000, step_size_down = 0;  // cyclic; down 0 means up
  int64_t total_steps = 0;        // one-cycle
  double pct_start = 0.3, div_factor = 25, final_div_factor = 1e4;  // one-cycle
  // Stochastic weight averaging's SWALR from step swa_start on: the rate anneals (cosine) from the
  // schedule's rate at swa_start to swa_lr over swa_anneal steps, counted in whole epochs of
  // steps_per_epoch steps as SWALR stepped once per epoch does. swa_start < 0: no SWA.
  int64_t swa_start = -1;
  double swa_lr = 0;
  int64_t swa_anneal_epochs = 10, steps_per_epoch = 1;
};

const std::vector<std::string>& scheduleNames();
// Checks the options (names, positive periods).
Status checkSchedule(const ScheduleOptions& o);

// The learning rate at optimizer step s for base rate `lr`.
Var learningRate(Var s, double lr, const ScheduleOptions& o);

}  // namespace dlc::builder
