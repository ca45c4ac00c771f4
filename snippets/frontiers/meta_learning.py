"""Meta-learning: MAML on sinusoid regression, written with torch.func.

Run ``python -m snippets.frontiers.meta_learning --help`` for the options.
"""

from __future__ import annotations

import argparse
import time

# --8<-- [start:setup]
import math

import torch
from torch import nn
from torch.func import functional_call, grad, vmap


def pick_device() -> torch.device:
    """CUDA when it is present, otherwise the CPU."""
    return torch.device("cuda" if torch.cuda.is_available() else "cpu")


K_SHOT = 10  # support points per task, as in Finn et al. (2017)
INNER_LR = 0.01  # alpha: the step size of the inner (adaptation) loop
X_RANGE = (-5.0, 5.0)

Params = dict[str, torch.Tensor]


def sample_tasks(n: int, generator: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
    """n sine tasks y = A sin(x - phi): amplitude A in [0.1, 5], phase phi in [0, pi]."""
    amplitude = 0.1 + 4.9 * torch.rand(n, generator=generator)
    phase = math.pi * torch.rand(n, generator=generator)
    return amplitude, phase


def sample_points(
    amplitude: torch.Tensor, phase: torch.Tensor, k: int, generator: torch.Generator
) -> tuple[torch.Tensor, torch.Tensor]:
    """k points per task, x uniform in [-5, 5]; shapes (tasks, k, 1)."""
    low, high = X_RANGE
    x = low + (high - low) * torch.rand(len(amplitude), k, 1, generator=generator)
    y = amplitude[:, None, None] * torch.sin(x - phase[:, None, None])
    return x, y


def make_model() -> nn.Module:
    """The paper's regressor: two hidden layers of 40 ReLU units."""
    return nn.Sequential(nn.Linear(1, 40), nn.ReLU(), nn.Linear(40, 40), nn.ReLU(), nn.Linear(40, 1))


# --8<-- [end:setup]

from snippets.common import make_parser, positive_int, run_cli  # noqa: E402


# --8<-- [start:inner]
def task_loss(params: Params, model: nn.Module, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """Mean squared error of the model run with the weights ``params``."""
    return nn.functional.mse_loss(functional_call(model, params, (x,)), y)


def adapt(
    params: Params,
    model: nn.Module,
    x: torch.Tensor,
    y: torch.Tensor,
    steps: int = 1,
    lr: float = INNER_LR,
    first_order: bool = False,
) -> Params:
    """Inner loop: ``steps`` plain gradient steps on one task's support set."""
    for _ in range(steps):
        grads = grad(task_loss)(params, model, x, y)  # d loss / d params, as a dict
        if first_order:  # FOMAML: treat the inner gradient as a constant
            grads = {name: g.detach() for name, g in grads.items()}
        params = {name: p - lr * grads[name] for name, p in params.items()}
    return params


# --8<-- [end:inner]


# --8<-- [start:maml]
def maml_loss(
    params: Params,
    model: nn.Module,
    support: tuple[torch.Tensor, torch.Tensor],
    query: tuple[torch.Tensor, torch.Tensor],
    first_order: bool = False,
) -> torch.Tensor:
    """Outer objective: query loss after adapting on the support set, averaged over tasks."""

    def one_task(xs, ys, xq, yq):
        adapted = adapt(params, model, xs, ys, first_order=first_order)
        return task_loss(adapted, model, xq, yq)

    return vmap(one_task)(*support, *query).mean()  # one task per row of the batch


def meta_train(
    iterations: int, seed: int, meta_batch: int = 25, meta_lr: float = 1e-3
) -> tuple[nn.Module, Params]:
    """MAML: learn an initialisation from which one gradient step fits a new sine well."""
    torch.manual_seed(seed)
    generator = torch.Generator().manual_seed(seed)  # tasks are drawn on the CPU, then moved
    device = pick_device()
    model = make_model().to(device)
    params = {name: p.detach().clone().requires_grad_() for name, p in model.named_parameters()}
    optimizer = torch.optim.Adam(params.values(), lr=meta_lr)
    for _ in range(iterations):
        amplitude, phase = sample_tasks(meta_batch, generator)
        support = [t.to(device) for t in sample_points(amplitude, phase, K_SHOT, generator)]
        query = [t.to(device) for t in sample_points(amplitude, phase, K_SHOT, generator)]
        loss = maml_loss(params, model, support, query)
        optimizer.zero_grad()
        loss.backward()  # differentiates through the inner gradient step (second order)
        optimizer.step()
    return model, {name: p.detach() for name, p in params.items()}


# --8<-- [end:maml]


# --8<-- [start:baseline]
def pretrain(iterations: int, seed: int, meta_batch: int = 25, lr: float = 1e-3) -> tuple[nn.Module, Params]:
    """Baseline: ordinary regression on points pooled from many tasks (no inner loop)."""
    torch.manual_seed(seed)
    generator = torch.Generator().manual_seed(seed)
    device = pick_device()
    model = make_model().to(device)
    optimizer = torch.optim.Adam(model.parameters(), lr=lr)
    for _ in range(iterations):
        amplitude, phase = sample_tasks(meta_batch, generator)
        x, y = (t.to(device) for t in sample_points(amplitude, phase, K_SHOT, generator))
        loss = nn.functional.mse_loss(model(x), y)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    return model, {name: p.detach() for name, p in model.named_parameters()}


# --8<-- [end:baseline]


# --8<-- [start:evaluate]
def adaptation_curve(
    model: nn.Module, params: Params, tasks: int, max_steps: int, seed: int, lr: float = INNER_LR
) -> torch.Tensor:
    """Mean squared error on held-out tasks after 0, 1, ..., max_steps steps on K_SHOT points."""
    generator = torch.Generator().manual_seed(seed)
    amplitude, phase = sample_tasks(tasks, generator)
    support = sample_points(amplitude, phase, K_SHOT, generator)
    grid = torch.linspace(*X_RANGE, 200).expand(tasks, 200)[..., None]
    truth = amplitude[:, None, None] * torch.sin(grid - phase[:, None, None])
    device = next(iter(params.values())).device
    support, grid, truth = [t.to(device) for t in support], grid.to(device), truth.to(device)

    def one_task(xs, ys, x_grid, y_grid):
        adapted, errors = params, []
        for _ in range(max_steps + 1):
            errors.append(task_loss(adapted, model, x_grid, y_grid))
            adapted = adapt(adapted, model, xs, ys, steps=1, lr=lr)
        return torch.stack(errors)

    with torch.no_grad():  # torch.func.grad still works inside: it does not need autograd's tape
        return vmap(one_task)(*support, grid, truth).mean(0).cpu()


# --8<-- [end:evaluate]


# --8<-- [start:solution-first-order]
def meta_gradient(params: Params, model: nn.Module, support, query, first_order: bool) -> Params:
    """Gradient of the MAML objective with respect to the initialisation."""
    leaves = {name: p.detach().requires_grad_() for name, p in params.items()}
    loss = maml_loss(leaves, model, support, query, first_order=first_order)
    grads = torch.autograd.grad(loss, list(leaves.values()))
    return dict(zip(leaves, grads, strict=True))


# --8<-- [end:solution-first-order]


def plot_adaptation(iterations: int = 300):
    """Left: error against adaptation steps. Right: one held-out task, before and after adapting."""
    import matplotlib.pyplot as plt

    maml_model, maml_params = meta_train(iterations, seed=0)
    base_model, base_params = pretrain(iterations, seed=0)
    maml_params = {name: p.cpu() for name, p in maml_params.items()}  # plot on the CPU
    base_params = {name: p.cpu() for name, p in base_params.items()}
    fig, (left, right) = plt.subplots(1, 2, figsize=(9.5, 3.4))
    steps = 10
    for name, model, params in [("MAML", maml_model, maml_params), ("pretrained", base_model, base_params)]:
        curve = adaptation_curve(model, params, tasks=100, max_steps=steps, seed=12_345)
        left.plot(range(steps + 1), curve, marker="o", markersize=3, label=name)
    left.set_xlabel("gradient steps on K = 10 points")
    left.set_ylabel("MSE (held-out tasks)")
    left.legend(fontsize=8)

    generator = torch.Generator().manual_seed(7)
    amplitude, phase = torch.tensor([4.0]), torch.tensor([1.0])
    xs, ys = sample_points(amplitude, phase, K_SHOT, generator)
    grid = torch.linspace(*X_RANGE, 200)[:, None]
    right.plot(grid, amplitude * torch.sin(grid - phase), color="black", linewidth=2, label="true")
    right.scatter(xs[0], ys[0], color="black", zorder=3, label="K = 10 points")
    with torch.no_grad():
        for label, model, params, k, style in [
            ("MAML, 0 steps", maml_model, maml_params, 0, ":"),
            ("MAML, 10 steps", maml_model, maml_params, 10, "-"),
            ("pretrained, 10 steps", base_model, base_params, 10, "--"),
        ]:
            adapted = params
            with torch.enable_grad():
                adapted = adapt(params, model, xs[0], ys[0], steps=k) if k else params
            right.plot(grid, functional_call(model, adapted, (grid,)), linestyle=style, label=label)
    right.set_xlabel("x")
    right.set_ylabel("y")
    right.legend(fontsize=7, loc="lower left")
    fig.tight_layout()
    return fig


FIGURES = {"meta-learning-sinusoid": plot_adaptation}
# Points a figure may move between CPUs (tools/figures.py), measured with ATEN_CPU_CAPABILITY
# default, avx2 and avx512: the default level draws them differently; math.inf: only the labels are compared.
FIGURE_TOLERANCE = {"meta-learning-sinusoid": math.inf}


def report(args: argparse.Namespace) -> None:
    """Meta-train MAML and a pretrained baseline, then adapt both to held-out sine tasks."""
    print(f"seed={args.seed} iterations={args.iterations} K={K_SHOT} inner_lr={INNER_LR}")
    started = time.perf_counter()
    maml_model, maml_params = meta_train(args.iterations, args.seed)
    base_model, base_params = pretrain(args.iterations, args.seed)
    elapsed = time.perf_counter() - started
    maml_curve = adaptation_curve(maml_model, maml_params, args.tasks, 10, seed=12_345)
    base_curve = adaptation_curve(base_model, base_params, args.tasks, 10, seed=12_345)
    print(f"MSE on {args.tasks} held-out tasks after k gradient steps on K={K_SHOT} points")
    print("  k    MAML  pretrained")
    for k in (0, 1, 5, 10):
        print(f"{k:>3} {maml_curve[k]:7.3f} {base_curve[k]:11.3f}")
    if args.timing:
        print(f"meta-training + pretraining wall time {elapsed:.0f} s")


def main(argv: list[str] | None = None) -> int:
    parser = make_parser(
        "python -m snippets.frontiers.meta_learning",
        "MAML versus a pretrained regressor on few-shot sine regression.",
    )
    parser.add_argument(
        "--iterations", type=positive_int, default=300, help="meta-training iterations (default: 300)"
    )
    parser.add_argument("--tasks", type=positive_int, default=100, help="held-out test tasks (default: 100)")
    parser.add_argument("--timing", action="store_true", help="also print the training wall time")
    return run_cli(parser, report, argv)


if __name__ == "__main__":
    raise SystemExit(main())
