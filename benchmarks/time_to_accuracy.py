"""Time to accuracy: minutes of training to 60, 70 and 75 % validation top-1, per recipe.

Reads finished run folders (``--runs``: each a ``config.json`` and a ``history.csv`` with
``epoch_seconds``), or first trains each ``--recipe`` with each ``--seed`` through the
command line (a process of its own: ``python -m alexnet train --recipe R --seed S ...``),
and reports the frontier: for every recipe and size tried, the minutes to each threshold
and the best top-1 reached, so a reader can choose "70 % in X minutes, 75 % in Y":

    python benchmarks/time_to_accuracy.py --runs results/imagenette-quick-cpu-128-seed* \\
        results/imagenette-modern-cpu-128 --name cpu-2core-xeon
    python benchmarks/time_to_accuracy.py --recipe quick --seed 0 1 2 \\
        --data ../shared/datasets/imagenette --name quick-3-seeds

The minutes are the cumulative sum of ``epoch_seconds`` (validation included) / 60. Runs
are grouped by a label made from their config: the recipe, image size, epochs, the
precision as recorded (a resolved ``precision_used`` where the folder has one, else
``precision``, ``auto`` as is) and every setting that differs from the recipe's defaults,
e.g. ``quick 128px 12 ep precision auto`` or ``quick 128px 8 ep float32 lr=0.04``. A group
of several seeds gives each seed and the median (a seed that never reaches a threshold
counts as never, so the median reaches it only if most seeds do).

Prints a Markdown table, one row per group, and writes ``OUT/NAME.json`` (the frontier and
every run's curve) beside ``OUT/NAME.png`` (top-1 against minutes, one colour per group, a
thin line per seed, guides at the thresholds, the fastest group to each marked);
OUT is benchmarks/results/time_to_accuracy/ unless ``--out`` says otherwise.
"""

from __future__ import annotations

import argparse
import csv
import dataclasses
import json
import math
import statistics
import subprocess
import sys
from pathlib import Path

import common  # benchmarks/common.py: this folder is on the path (the script's or pytest's)

from alexnet.recipes import RECIPES, TrainConfig  # no Keras loads

OUT = common.RESULTS_DIR / "time_to_accuracy"
THRESHOLDS = (0.60, 0.70, 0.75)
# keys a run folder may record the precision actually used under (issue 34's point 4),
# before the setting itself ("auto" in older runs)
PRECISION_USED = ("precision_used", "precision_resolved", "resolved_precision")
# config fields that are not a training setting (a time limit stops a run, it does not
# change it), or that the label names anyway
NOT_SETTINGS = {"data", "out", "seed", "recipe", "image_size", "epochs", "precision", "time_limit"}


def curve(run_dir: Path) -> dict:
    """A run folder's (minutes, top-1) after every epoch, with what the run was."""
    config = json.loads((run_dir / "config.json").read_text())
    with open(run_dir / "history.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    minutes, elapsed = [], 0.0
    for row in rows:
        elapsed += float(row["epoch_seconds"]) / 60
        minutes.append(round(elapsed, 3))
    metrics_file = run_dir / "metrics.json"
    final = json.loads(metrics_file.read_text())["top1"] if metrics_file.is_file() else None
    return {"run": str(run_dir), "recipe": config.get("recipe"), "seed": config.get("seed"),
            "image_size": config.get("image_size"), "epochs": config.get("epochs"),
            "precision": precision(config), "label": label(config),
            "data": Path(str(config.get("dataset_root") or config.get("data") or "")).name,
            "machine": config.get("machine"), "command": config.get("command"),
            "minutes": minutes, "val_top1": [float(row["val_accuracy"]) for row in rows],
            "best_top1": final,  # the evaluation after training (metrics.json), if any
            # what the timed steps before training expected (estimate.py), if recorded
            "estimated_minutes": (round(len(rows) * config["estimate"]["epoch_seconds"] / 60, 3)
                                  if "estimate" in config else None)}


def precision(config: dict) -> str:
    """The precision as the run folder records it: the resolved one where there is one."""
    for key in PRECISION_USED:
        if config.get(key):
            return str(config[key])
    return str(config.get("precision", "auto"))


def recipe_defaults(recipe: str | None) -> dict:
    """TrainConfig's defaults (the modern recipe's) with ``recipe``'s changes over them."""
    defaults = {field.name: field.default for field in dataclasses.fields(TrainConfig)
                if field.default is not dataclasses.MISSING}
    return {**defaults, **RECIPES.get(recipe or "", {})}


def _setting(name: str, value) -> str:
    flag = name.replace("_", "-")
    if isinstance(value, bool):
        return flag if value else f"no-{flag}"
    if isinstance(value, float):
        return f"{flag}={value:g}"
    return f"{flag}={value}"


def label(config: dict) -> str:
    """A group's readable name: recipe, size, epochs, precision, then what differs from the
    recipe's defaults (a setting a run predates counts as its default)."""
    recipe = config.get("recipe")
    defaults = recipe_defaults(recipe)
    parts = [recipe or "no recipe", f"{config.get('image_size')}px", f"{config.get('epochs')} ep"]
    used = precision(config)
    parts.append("precision auto" if used == "auto" else used)
    parts += [_setting(name, config[name]) for name in defaults
              if name not in NOT_SETTINGS and name in config and config[name] != defaults[name]]
    return " ".join(parts)


def _key(threshold: float) -> str:
    return f"{100 * threshold:g}"


def _median(values: list[float | None], digits: int = 3) -> float | None:
    """The median, a None (never reached) counting as later than any time."""
    middle = statistics.median([math.inf if v is None else v for v in values])
    return None if math.isinf(middle) else round(middle, digits)


def seed_frontier(record: dict, thresholds=THRESHOLDS) -> dict:
    """One run: minutes to each threshold (None: not reached), the best top-1 on the curve
    and its minutes, and the whole run's minutes."""
    minutes, top1 = record["minutes"], record["val_top1"]
    reached = {_key(t): next((m for m, v in zip(minutes, top1, strict=True)
                              if v >= t - 1e-9), None) for t in thresholds}
    best = max(range(len(top1)), key=top1.__getitem__) if top1 else None
    return {"run": record["run"], "seed": record["seed"], "machine": record["machine"],
            "minutes_to": reached,
            "best_top1": None if best is None else round(top1[best], 4),
            "best_minutes": None if best is None else minutes[best],
            "final_top1": record["best_top1"],
            "total_minutes": minutes[-1] if minutes else None, "epochs_run": len(minutes)}


def frontier(curves: list[dict], thresholds=THRESHOLDS) -> dict:
    """The runs grouped by label: each seed's minutes to each threshold and best top-1, the
    group's medians, and the fastest group (by median) to each threshold."""
    datasets = {record.get("data") for record in curves}
    groups: dict[tuple, dict] = {}
    for record in curves:
        name = record["label"] + (f" {record.get('data')}" if len(datasets) > 1 else "")
        group = groups.setdefault((name, record.get("data")), {
            "label": name, "recipe": record["recipe"], "image_size": record["image_size"],
            "epochs": record["epochs"], "precision": record["precision"], "seeds": []})
        group["seeds"].append(seed_frontier(record, thresholds))
    for group in groups.values():
        seeds = group["seeds"]
        group["machines"] = sorted({str(s["machine"]) for s in seeds})
        group["median"] = {
            "minutes_to": {_key(t): _median([s["minutes_to"][_key(t)] for s in seeds])
                           for t in thresholds},
            "best_top1": _median([s["best_top1"] for s in seeds], digits=4),
            **{name: _median([s[name] for s in seeds])
               for name in ("best_minutes", "total_minutes")}}
        group["reached"] = {_key(t): sum(s["minutes_to"][_key(t)] is not None for s in seeds)
                            for t in thresholds}
    fastest = {}
    for t in thresholds:
        timed = [(g["median"]["minutes_to"][_key(t)], g["label"]) for g in groups.values()
                 if g["median"]["minutes_to"][_key(t)] is not None]
        fastest[_key(t)] = ({"label": min(timed)[1], "minutes": min(timed)[0]}
                            if timed else None)
    return {"thresholds": list(thresholds), "groups": list(groups.values()),
            "fastest": fastest}


def table(result: dict) -> str:
    """The frontier as Markdown, one row per group (medians where there are several
    seeds; "(2 of 3)" where not every seed reached the threshold)."""
    keys = [_key(t) for t in result["thresholds"]]
    lines = ["| run | seeds | " + " | ".join(f"min to {k} %" for k in keys)
             + " | best top-1 | minutes, whole run |",
             "|---|---|" + "---:|" * len(keys) + "---:|---:|"]
    for group in result["groups"]:
        seeds, median = group["seeds"], group["median"]
        cells = []
        for k in keys:
            minutes, reached = median["minutes_to"][k], group["reached"][k]
            cell = "not reached" if minutes is None else f"{minutes:.1f}"
            if 0 < reached < len(seeds):
                cell += f" ({reached} of {len(seeds)})"
            cells.append(cell)
        best = ("-" if median["best_top1"] is None else
                f"{median['best_top1']:.2%} at {median['best_minutes']:.1f} min")
        total = "-" if median["total_minutes"] is None else f"{median['total_minutes']:.1f}"
        names = ", ".join("?" if s["seed"] is None else str(s["seed"]) for s in seeds)
        lines.append(f"| {group['label']} | {names} | " + " | ".join(cells)
                     + f" | {best} | {total} |")
    if any(len(group["seeds"]) > 1 for group in result["groups"]):
        lines += ["", "Minutes and top-1: the median of the seeds in the row."]
    else:
        lines.append("")
    fastest = [f"{k} % in {f['minutes']:.1f} min ({f['label']})"
               for k, f in result["fastest"].items() if f]
    lines.append("Fastest: " + ("; ".join(fastest) if fastest else "no threshold reached"))
    machines = sorted({m for g in result["groups"] for m in g["machines"]})
    if len(machines) > 1:
        lines.append("Machines: " + "; ".join(
            f"{g['label']}: {', '.join(g['machines'])}" for g in result["groups"]))
    return "\n".join(lines)


def train(recipe: str, seed: int, data: str, image_size: int | None, out: Path,
          precision_flag: str | None = None) -> Path:
    name = (f"{recipe}" + (f"-{image_size}" if image_size else "")
            + (f"-{precision_flag}" if precision_flag else "") + f"-seed{seed}")
    run_dir = out / name
    command = [sys.executable, "-m", "alexnet", "train", "--recipe", recipe, "--seed",
               str(seed), "--data", data, "--out", str(run_dir), "--no-estimate"]
    if image_size:
        command += ["--image-size", str(image_size)]
    if precision_flag:
        command += ["--precision", precision_flag]
    print(" ".join(command), flush=True)
    subprocess.run(command, check=True)
    return run_dir


def plot(curves: list[dict], result: dict, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7.5, 4.5))
    colours = {group["label"]: f"C{i % 10}" for i, group in enumerate(result["groups"])}
    by_run = {record["run"]: record for record in curves}
    for group in result["groups"]:
        colour = colours[group["label"]]
        for i, seed in enumerate(group["seeds"]):
            record = by_run[seed["run"]]
            ax.plot(record["minutes"], [100 * v for v in record["val_top1"]], color=colour,
                    linewidth=1, marker="o", markersize=2, alpha=0.75,
                    label=(f"{group['label']} ({len(group['seeds'])} seed"
                           f"{'s' if len(group['seeds']) > 1 else ''})") if i == 0 else None)
    for t in result["thresholds"]:
        ax.axhline(100 * t, color="grey", linestyle=":", linewidth=1)
        ax.text(0.005, 100 * t + 0.3, f"{100 * t:g} %", color="grey", ha="left",
                va="bottom", transform=ax.get_yaxis_transform(), fontsize=8)
    points = [(f["minutes"], 100 * t, f["label"]) for t, f in
              zip(result["thresholds"], result["fastest"].values(), strict=True) if f]
    if points:
        ax.plot([p[0] for p in points], [p[1] for p in points], color="black",
                linewidth=0.8, linestyle="--", zorder=3)
        for minutes, top1, name in points:
            ax.scatter([minutes], [top1], marker="*", s=140, color=colours[name],
                       edgecolors="black", linewidths=0.8, zorder=4)
            ax.annotate(f"{minutes:.1f} min", (minutes, top1), xytext=(4, -11),
                        textcoords="offset points", fontsize=8)
        ax.scatter([], [], marker="*", s=100, color="white", edgecolors="black",
                   label="fastest to each threshold (median)")
    low = min([100 * min(r["val_top1"]) for r in curves if r["val_top1"]]
              + [100 * min(result["thresholds"])])
    ax.set_ylim(max(0.0, low - 5), None)
    ax.set(xlabel="minutes of training (validation included)",
           ylabel="validation top-1 (%)",
           title="Time to accuracy: a thin line per seed, a colour per recipe")
    ax.grid(alpha=0.3)
    ax.legend(loc="lower right", fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def main(argv: list[str] | None = None) -> Path:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", nargs="*", default=[], help="finished run folders to read")
    parser.add_argument("--recipe", nargs="*", default=[], help="recipes to train first")
    parser.add_argument("--seed", nargs="+", type=int, default=[0], help="seeds to train")
    parser.add_argument("--data", default="imagenette", help="dataset to train on")
    parser.add_argument("--image-size", type=int, help="to train at (default: the recipe's)")
    parser.add_argument("--precision", choices=common.PRECISIONS,
                        help="to train in (default: the command line's auto)")
    parser.add_argument("--thresholds", nargs="+", type=float, default=list(THRESHOLDS),
                        metavar="TOP1", help="validation top-1 fractions (default: 0.6 0.7 "
                                             "0.75)")
    parser.add_argument("--out", type=Path, default=OUT, help="default: %(default)s")
    parser.add_argument("--name", default="time_to_accuracy",
                        help="the JSON's and the figure's name (default: %(default)s)")
    args = parser.parse_args(argv)
    if any(not 0 < t <= 1 for t in args.thresholds):
        parser.error("--thresholds are fractions of top-1 in (0, 1], e.g. 0.7")
    folders = [Path(run) for run in args.runs]
    missing = [str(f) for f in folders if not (f / "config.json").is_file()
               or not (f / "history.csv").is_file()]
    if missing:
        parser.error(f"not a finished run folder (config.json, history.csv): "
                     f"{', '.join(missing)}")
    args.out.mkdir(parents=True, exist_ok=True)
    folders += [train(recipe, seed, args.data, args.image_size, args.out / "runs",
                      args.precision) for recipe in args.recipe for seed in args.seed]
    if not folders:
        parser.error("nothing to measure: give --recipe or --runs")
    thresholds = sorted(args.thresholds)
    curves = []
    for folder in folders:
        record = curve(folder)
        curves.append(record)
        if not record["minutes"]:
            print(f"{folder.name}: no epochs recorded")
            continue
        last = record["minutes"][-1]
        expected = record["estimated_minutes"]
        times = seed_frontier(record, thresholds)["minutes_to"]
        print(f"{folder.name}: {record['best_top1'] or max(record['val_top1']):.1%} top-1 "
              f"after {last:.1f} min ({len(record['minutes'])} epochs)"
              + (f"; estimated {expected:.1f} min ({expected / last - 1:+.0%})"
                 if expected else "")
              + "; " + ", ".join(f"{k} % " + ("not reached" if m is None else f"at {m:.1f} min")
                                 for k, m in times.items()))
    result = frontier(curves, thresholds)
    print()
    print(table(result))
    record = {"name": args.name, **result, "curves": curves}
    json_path = args.out / f"{args.name}.json"
    json_path.write_text(json.dumps(record, indent=1) + "\n")
    path = args.out / f"{args.name}.png"
    plot(curves, result, path)
    print(f"Wrote {json_path} and {path}")
    return path


if __name__ == "__main__":
    main()
