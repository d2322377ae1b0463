#!/usr/bin/python3
"""Reference trajectories for dlc's optimizers and learning-rate schedules.

Optimizers: two parameters (shapes [3, 4] and [5]) take 25 steps on fixed random gradients. The
torch.optim classes give the trajectories of SGD, Adam, AdamW, RMSprop, Adagrad and RAdam; LAMB,
LARS, Lookahead and Ranger, which torch.optim lacks, come from independent NumPy implementations
of their papers' algorithms below (LAMB: You et al. 2019, Algorithm 2; LARS as timm's Lars with the
trust ratio always applied; Lookahead: Zhang et al. 2019, Algorithm 1; Ranger: RAdam + Lookahead
with gradient centralization). Schedules: the rate of each of 60 optimizer steps from
torch.optim.lr_scheduler, stepped once per step (SWALR once per epoch of 4 steps).

Writes OUT/optimizers.npz and OUT/schedules.npz; each case is described by a line of OUT/cases.txt:
  optimizer NAME key=value ...     (options as dlc train spells them)
  schedule NAME key=value ...

usage: gen_optimizer_fixtures.py OUT_DIR
"""
import math
import os
import sys

import numpy as np

try:
    import torch
except ImportError as e:
    sys.exit(f"gen_optimizer_fixtures.py: error: {e} (run with /usr/bin/python3)")

STEPS = 25
SHAPES = [(3, 4), (5,)]


def inputs(case_index):
    rng = np.random.default_rng(100 + case_index)
    params = [rng.standard_normal(s).astype(np.float32) for s in SHAPES]
    grads = [rng.standard_normal((STEPS,) + s).astype(np.float32) * 0.5 for s in SHAPES]
    return params, grads


def torch_trajectory(make, params, grads):
    ps = [torch.nn.Parameter(torch.from_numpy(p.copy())) for p in params]
    opt = make(ps)
    out = [[] for _ in ps]
    for t in range(STEPS):
        for p, g in zip(ps, grads):
            p.grad = torch.from_numpy(g[t].copy())
        opt.step()
        for i, p in enumerate(ps):
            out[i].append(p.detach().numpy().copy())
    return [np.stack(o) for o in out]


# NumPy references for the optimizers torch.optim does not have (float64 arithmetic).
def lamb(params, grads, lr=1e-3, b1=0.9, b2=0.999, eps=1e-6, wd=0.01):
    ps = [p.astype(np.float64) for p in params]
    m = [np.zeros_like(p) for p in ps]
    v = [np.zeros_like(p) for p in ps]
    out = [[] for _ in ps]
    for t in range(1, STEPS + 1):
        for i, p in enumerate(ps):
            g = grads[i][t - 1].astype(np.float64)
            m[i] = b1 * m[i] + (1 - b1) * g
            v[i] = b2 * v[i] + (1 - b2) * g * g
            u = (m[i] / (1 - b1 ** t)) / (np.sqrt(v[i] / (1 - b2 ** t)) + eps) + wd * p
            wn, un = np.linalg.norm(p), np.linalg.norm(u)
            trust = wn / un if wn > 0 and un > 0 else 1.0
            ps[i] = p - lr * trust * u
            out[i].append(ps[i].astype(np.float32))
    return [np.stack(o) for o in out]


def lars(params, grads, lr=0.1, momentum=0.9, wd=1e-4, trust_coefficient=1e-3, eps=1e-8):
    ps = [p.astype(np.float64) for p in params]
    buf = [None for _ in ps]
    out = [[] for _ in ps]
    for t in range(STEPS):
        for i, p in enumerate(ps):
            g = grads[i][t].astype(np.float64)
            wn, gn = np.linalg.norm(p), np.linalg.norm(g)
            trust = trust_coefficient * wn / (gn + wn * wd + eps) if wn > 0 and gn > 0 else 1.0
            g = (g + wd * p) * trust
            buf[i] = g.copy() if buf[i] is None else momentum * buf[i] + g
            ps[i] = p - lr * buf[i]
            out[i].append(ps[i].astype(np.float32))
    return [np.stack(o) for o in out]


def lookahead(inner_make, params, grads, k=5, alpha=0.5, centralize=False):
    ps = [torch.nn.Parameter(torch.from_numpy(p.copy())) for p in params]
    opt = inner_make(ps)
    slow = [p.detach().clone().double() for p in ps]
    out = [[] for _ in ps]
    for t in range(1, STEPS + 1):
        for p, g in zip(ps, grads):
            gt = torch.from_numpy(g[t - 1].copy())
            if centralize and gt.dim() > 1:
                gt = gt - gt.mean(dim=tuple(range(1, gt.dim())), keepdim=True)
            p.grad = gt
        opt.step()
        if t % k == 0:
            with torch.no_grad():
                for i, p in enumerate(ps):
                    slow[i] += alpha * (p.double() - slow[i])
                    p.copy_(slow[i].float())
        for i, p in enumerate(ps):
            out[i].append(p.detach().numpy().copy())
    return [np.stack(o) for o in out]


O = torch.optim
OPTIMIZERS = [
    ("sgd lr=0.1", lambda ps: O.SGD(ps, lr=0.1)),
    ("sgd lr=0.1 momentum=0.9", lambda ps: O.SGD(ps, lr=0.1, momentum=0.9)),
    ("sgd lr=0.05 momentum=0.9 nesterov=1 weight_decay=0.01", lambda ps: O.SGD(ps, lr=0.05, momentum=0.9, nesterov=True, weight_decay=0.01)),
    ("sgd lr=0.1 momentum=0.8 dampening=0.5 weight_decay=0.01", lambda ps: O.SGD(ps, lr=0.1, momentum=0.8, dampening=0.5, weight_decay=0.01)),
    ("adam lr=0.01", lambda ps: O.Adam(ps, lr=0.01)),
    ("adam lr=0.01 amsgrad=1 weight_decay=0.1 beta1=0.8 beta2=0.99", lambda ps: O.Adam(ps, lr=0.01, amsgrad=True, weight_decay=0.1, betas=(0.8, 0.99))),
    ("adamw lr=0.01", lambda ps: O.AdamW(ps, lr=0.01)),
    ("adamw lr=0.01 weight_decay=0.5 eps=0.001", lambda ps: O.AdamW(ps, lr=0.01, weight_decay=0.5, eps=1e-3)),
    ("rmsprop lr=0.01", lambda ps: O.RMSprop(ps, lr=0.01)),
    ("rmsprop lr=0.01 centered=1 momentum=0.5 weight_decay=0.01 alpha=0.9", lambda ps: O.RMSprop(ps, lr=0.01, centered=True, momentum=0.5, weight_decay=0.01, alpha=0.9)),
    ("adagrad lr=0.1", lambda ps: O.Adagrad(ps, lr=0.1)),
    ("adagrad lr=0.1 lr_decay=0.05 weight_decay=0.01 initial_accumulator_value=0.1", lambda ps: O.Adagrad(ps, lr=0.1, lr_decay=0.05, weight_decay=0.01, initial_accumulator_value=0.1)),
    ("radam lr=0.01", lambda ps: O.RAdam(ps, lr=0.01)),
    ("radam lr=0.01 weight_decay=0.1", lambda ps: O.RAdam(ps, lr=0.01, weight_decay=0.1)),
    ("lamb lr=0.01", None),
    ("lars lr=0.1 momentum=0.9 weight_decay=0.0001", None),
    ("sgd lr=0.1 momentum=0.9 lookahead=1 lookahead_k=5 lookahead_alpha=0.5", None),
    ("ranger lr=0.01", None),
]


def optimizer_case(i, spec, make):
    params, grads = inputs(i)
    name = spec.split()[0]
    if make is not None:
        traj = torch_trajectory(make, params, grads)
    elif name == "lamb":
        traj = lamb(params, grads, lr=0.01)
    elif name == "lars":
        traj = lars(params, grads)
    elif name == "ranger":  # RAdam(betas 0.95, 0.999, eps 1e-5) + Lookahead(6, 0.5) + centralization
        traj = lookahead(lambda ps: O.RAdam(ps, lr=0.01, betas=(0.95, 0.999), eps=1e-5), params, grads, k=6, alpha=0.5, centralize=True)
    else:
        traj = lookahead(lambda ps: O.SGD(ps, lr=0.1, momentum=0.9), params, grads, k=5, alpha=0.5)
    return params, grads, traj


LR_STEPS = 60


def schedule_rates(make_sched, lr=0.1, swa=None):
    p = torch.nn.Parameter(torch.zeros(1))
    opt = O.SGD([p], lr=lr)
    sched = make_sched(opt)
    rates = []
    swa_sched = None
    for s in range(LR_STEPS):
        if swa and s == swa[0]:
            swa_sched = O.swa_utils.SWALR(opt, swa_lr=swa[1], anneal_epochs=swa[2], anneal_strategy="cos")
        rates.append(opt.param_groups[0]["lr"])
        opt.step()
        if swa_sched is None:
            sched.step()
        elif (s + 1 - swa[0]) % swa[3] == 0:
            swa_sched.step()
    return np.array(rates, dtype=np.float64)


L = O.lr_scheduler
SCHEDULES = [
    ("constant", lambda o: L.LambdaLR(o, lambda s: 1.0), None),
    ("step step_size=7 gamma=0.5", lambda o: L.StepLR(o, 7, 0.5), None),
    ("multistep milestones=10,25 gamma=0.3", lambda o: L.MultiStepLR(o, [10, 25], 0.3), None),
    ("exponential gamma=0.95", lambda o: L.ExponentialLR(o, 0.95), None),
    ("cosine t_max=20 eta_min=0.001", lambda o: L.CosineAnnealingLR(o, 20, 0.001), None),
    ("cosine-restarts t_0=10 t_mult=2 eta_min=0.01", lambda o: L.CosineAnnealingWarmRestarts(o, 10, 2, 0.01), None),
    ("cosine-restarts t_0=7 t_mult=1", lambda o: L.CosineAnnealingWarmRestarts(o, 7, 1), None),
    ("cyclic max_lr=0.5 step_size_up=5 step_size_down=8", lambda o: L.CyclicLR(o, 0.1, 0.5, 5, 8, cycle_momentum=False), None),
    ("one-cycle max_lr=0.5 total_steps=60 pct_start=0.3", lambda o: L.OneCycleLR(o, 0.5, total_steps=60, pct_start=0.3, cycle_momentum=False), None),
    ("cosine t_max=55 warmup=5 warmup_factor=0.25",
     lambda o: L.SequentialLR(o, [L.LinearLR(o, 0.25, 1.0, 5), L.CosineAnnealingLR(o, 55)], [5]), None),
    ("cosine t_max=40 swa_start=24 swa_lr=0.05 swa_anneal_epochs=3 steps_per_epoch=4",
     lambda o: L.CosineAnnealingLR(o, 40), (24, 0.05, 3, 4)),
]


def main():
    out = sys.argv[1] if len(sys.argv) > 1 else sys.exit(__doc__)
    os.makedirs(out, exist_ok=True)
    arrays, lines = {}, []
    for i, (spec, make) in enumerate(OPTIMIZERS):
        params, grads, traj = optimizer_case(i, spec, make)
        for k in range(len(SHAPES)):
            arrays[f"o{i}_init{k}"] = params[k]
            arrays[f"o{i}_grad{k}"] = grads[k]
            arrays[f"o{i}_traj{k}"] = traj[k]
        lines.append(f"optimizer {spec}")
    np.savez(os.path.join(out, "optimizers.npz"), **arrays)
    rates = {}
    for i, (spec, make, swa) in enumerate(SCHEDULES):
        rates[f"s{i}"] = schedule_rates(make, swa=swa)
        lines.append(f"schedule {spec}")
    np.savez(os.path.join(out, "schedules.npz"), **rates)
    with open(os.path.join(out, "cases.txt"), "w") as f:
        f.write("\n".join(lines) + "\n")
    print(f"{len(OPTIMIZERS)} optimizer and {len(SCHEDULES)} schedule cases in {out}")


if __name__ == "__main__":
    main()
