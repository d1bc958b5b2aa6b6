"""faults.json, faults.md and faults.png from a campaign result, written deterministically."""
from __future__ import annotations

import json
from pathlib import Path

from ..staging import staged_folder


def _ci(s: dict) -> str:
    return f"{s['mean']:.4f} [{s['ci_low']:.4f}, {s['ci_high']:.4f}]"


def markdown(r: dict) -> str:
    ff = r["fault_free"]
    cal = r["calibration"]
    o = r["options"]
    lines = [
        f"# {r['top']}: defects, functional yield and calibration",
        "",
        f"{r['cells']} cells; defect area {r['cell_area_um2']:.0f} um2 of cells + {r['wire_area_um2']:.0f} um2 of "
        f"{'routed' if r.get('wire_model') == 'routed' else 'estimated'} wire = {r['defect_area_cm2']:.5f} cm2. {o['dies_per_point']} simulated dies per point "
        f"(seed {o['seed']}); accuracy on {r['test_samples']} test samples, mean [95% CI]. Wire defects: "
        f"{o['open_fraction']:.0%} opens (cut input reads {o['open_value']}), the rest bridges "
        f"({'wired-AND' if o['bridge_model'] == 'and' else 'dominant driver'}).",
        "",
        f"Fault-free accuracy {ff['accuracy']:.4f}. Calibration: offsets of {cal['offset_bits']} signed bits fitted "
        f"on {cal['samples']} samples ({cal['set']}), {cal['applied']}; accuracy on {cal['heldout_samples']} held-out samples "
        f"(fault-free {ff['heldout']:.4f}, calibrated {ff['heldout_calibrated']:.4f}).",
        "",
        "## Accuracy vs defect count (netlist simulation) and vs damaged weights (integer model)",
        "",
        "| defects / weights | netlist accuracy | median | 10th pct | held-out | held-out calibrated | "
        "weights zeroed | weight bit flipped |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for c, a in zip(r["by_count"], r["ablation"]):
        lines.append(
            f"| {c['defects']} | {_ci(c['accuracy'])} | {c['accuracy']['median']:.4f} | {c['accuracy']['p10']:.4f} | "
            f"{c['heldout_before_calibration']['mean']:.4f} | {c['heldout_after_calibration']['mean']:.4f} | "
            f"{_ci(a['zero'])} | {_ci(a['flip'])} |")
    lines += [
        "",
        f"## Yield vs defect density (functional: accuracy >= fault-free - {o['tolerance']:g})",
        "",
        "Functional yield on the whole test set, then on the held-out half before and after calibration "
        "(the same samples, so the two compare).",
        "",
        "| density /cm2 | mean defects | accuracy | functional yield [95% CI] | held-out | held-out after calibration | Poisson exp(-AD) |",
        "|---|---|---|---|---|---|---|",
    ]
    for d in r["by_density"]:
        fy, hy, cy = d["functional_yield"], d["heldout_functional_yield"], d["calibrated_functional_yield"]
        lines.append(
            f"| {d['density_per_cm2']:g} | {d['expected_defects']:.2f} ({d['mean_defects']:.2f} drawn) | "
            f"{_ci(d['accuracy'])} | {fy['value']:.3f} [{fy['ci_low']:.3f}, {fy['ci_high']:.3f}] | "
            f"{hy['value']:.3f} [{hy['ci_low']:.3f}, {hy['ci_high']:.3f}] | "
            f"{cy['value']:.3f} [{cy['ci_low']:.3f}, {cy['ci_high']:.3f}] | {d['poisson_yield']:.3f} |")
    unsettled = sum(p["unsettled_dies"] for p in r["by_count"] + r["by_density"])
    if unsettled:
        lines += ["", f"{unsettled} dies had a bridge that kept oscillating in some cycle (last pass values used)."]
    return "\n".join(lines) + "\n"


def plot(r: dict, path: Path) -> None:
    """Three panels: accuracy vs defects (with the weight ablation), accuracy vs density, yield vs density."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    with matplotlib.rc_context({"svg.hashsalt": "layoutgen", "font.size": 9}):
        fig, axes = plt.subplots(1, 3, figsize=(15, 4.5), dpi=100)
        ax = axes[0]
        k = [c["defects"] for c in r["by_count"]]
        for key, label, color in (("accuracy", "netlist defects", "C0"),
                                  ("heldout_after_calibration", "defects + calibration (held-out)", "C2")):
            m = [c[key]["mean"] for c in r["by_count"]]
            ax.plot(k, m, "o-", color=color, label=label)
            ax.fill_between(k, [c[key]["ci_low"] for c in r["by_count"]], [c[key]["ci_high"] for c in r["by_count"]],
                            color=color, alpha=0.2, linewidth=0)
        for mode, label, color in (("zero", "k weights zeroed (model)", "C1"), ("flip", "k weight bits flipped (model)", "C3")):
            ax.errorbar(k, [a[mode]["mean"] for a in r["ablation"]],
                        yerr=[[a[mode]["mean"] - a[mode]["ci_low"] for a in r["ablation"]],
                              [a[mode]["ci_high"] - a[mode]["mean"] for a in r["ablation"]]],
                        fmt="s--", color=color, label=label, capsize=2, markersize=4)
        ax.set_xscale("symlog", linthresh=1)
        ax.set_xlabel("defects per die / damaged weights (k)")
        ax.set_ylabel("test accuracy")
        ax.set_title("accuracy vs defect count (mean, 95% CI)")
        ax.legend(loc="lower left")
        ax.grid(True, alpha=0.3)

        dens = [d["density_per_cm2"] for d in r["by_density"]]
        ax = axes[1]
        for key, label, color in (("accuracy", "netlist", "C0"), ("heldout_after_calibration", "calibrated (held-out)", "C2")):
            ax.plot(dens, [d[key]["mean"] for d in r["by_density"]], "o-", color=color, label=label)
            ax.fill_between(dens, [d[key]["ci_low"] for d in r["by_density"]],
                            [d[key]["ci_high"] for d in r["by_density"]], color=color, alpha=0.2, linewidth=0)
        ax.set_xscale("log")
        ax.set_xlabel("defect density (per cm2)")
        ax.set_ylabel("test accuracy")
        ax.set_title("accuracy vs defect density")
        ax.legend(loc="lower left")
        ax.grid(True, alpha=0.3)

        ax = axes[2]
        for key, label, color, fmt in (("functional_yield", "functional", "C0", "o-"),
                                       ("heldout_functional_yield", "functional (held-out)", "C1", "s--"),
                                       ("calibrated_functional_yield", "held-out after calibration", "C2", "o:")):
            v = [d[key]["value"] for d in r["by_density"]]
            ax.errorbar(dens, v, yerr=[[x - d[key]["ci_low"] for x, d in zip(v, r["by_density"])],
                                       [d[key]["ci_high"] - x for x, d in zip(v, r["by_density"])]],
                        fmt=fmt, color=color, label=label, capsize=2)
        ax.plot(dens, [d["poisson_yield"] for d in r["by_density"]], "k--", label="classic exp(-AD)")
        ax.set_xscale("log")
        ax.set_ylim(-0.02, 1.02)
        ax.set_xlabel("defect density (per cm2)")
        ax.set_ylabel("yield")
        ax.set_title(f"yield (functional: accuracy within {r['options']['tolerance']:g})")
        ax.legend(loc="lower left")
        ax.grid(True, alpha=0.3)
        fig.suptitle(f"{r['top']}: {r['cells']} cells, {r['defect_area_cm2'] * 100:.3f} mm2 defect area")
        fig.tight_layout()
        # no software/date metadata: the same result gives the same bytes
        fig.savefig(path, format="png", metadata={"Software": None})
        plt.close(fig)


def write_results(result: dict, out_dir: Path) -> Path:
    """faults.json, faults.md, faults.png into out_dir, via a staging folder (never half-written)."""
    out_dir = Path(out_dir)
    with staged_folder(out_dir) as staging:
        clean = {k: v for k, v in result.items() if not k.startswith("_")}
        (staging / "faults.json").write_text(json.dumps(clean, indent=2, sort_keys=True) + "\n")
        (staging / "faults.md").write_text(markdown(clean))
        plot(clean, staging / "faults.png")
    return out_dir
