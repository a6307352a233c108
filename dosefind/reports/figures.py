"""Report figures (matplotlib, Agg backend, imported only when a report is drawn).

Each figure is returned as PNG and SVG bytes.  The numbers plotted are read from the
report tables' data, so a plot always shows what the tables show.

Figures scale with the study: up to :data:`PER_SCENARIO_MAX` scenarios get one figure each
(selection and allocation by dose); larger studies get pages of heat maps instead (selection
% by scenario and dose, one panel per design, :data:`PAGE_ROWS` scenarios a page), and the
comparison figure is paged the same way, so 500 scenarios cost seconds, not minutes.

Names a font cannot draw (matplotlib ships DejaVu Sans, which has Latin, Greek and
Cyrillic but no CJK) are never drawn as boxes: an installed font that has the glyphs is
added as a fallback when one exists, otherwise the figure shows a short ASCII key (S3, D2)
and its caption lists what each key stands for.  Drawing never emits warnings.
"""

from __future__ import annotations

import io
import warnings
from dataclasses import dataclass

from dosefind.reports.tables import run_methods

__all__ = ["Figure", "build_figures"]

#: Colour-blind-safe palette (Okabe & Ito 2008), one colour per design.
PALETTE = ("#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00", "#F0E442", "#000000")
#: Studies with more scenarios than this get paged heat maps instead of one figure each.
PER_SCENARIO_MAX = 24
#: Scenarios per page of the paged figures.
PAGE_ROWS = 50
#: Scenario curves beyond this many are drawn without a legend.
LEGEND_MAX = 8


@dataclass
class Figure:
    name: str
    title: str
    png: bytes
    svg: bytes
    caption: str = ""
    key: str = ""


def _plt():
    import matplotlib

    matplotlib.use("Agg", force=True)
    import matplotlib.pyplot as plt

    plt.rcParams.update({
        "font.size": 9, "axes.titlesize": 10, "axes.labelsize": 9, "axes.spines.top": False,
        "axes.spines.right": False, "svg.fonttype": "none", "svg.hashsalt": "dosefind",
        "figure.dpi": 100, "savefig.dpi": 150, "legend.frameon": False, "font.family": ["DejaVu Sans"],
    })
    return plt


class _Names:
    """What a figure prints for each design label and scenario name: the name itself when
    the fonts can draw it, else a short ASCII key listed in the caption."""

    def __init__(self, run, missing):
        self.missing = missing
        self.design = {d.label: (f"D{k}" if missing(d.label) else d.label) for k, d in enumerate(run.designs, 1)}
        self.scenario = {s.name: (f"S{k}" if missing(s.name) else s.name) for k, s in enumerate(run.scenarios, 1)}

    def key_text(self, designs=(), scenarios=()) -> str:
        pairs = [(self.design[d], d) for d in designs if self.design[d] != d]
        pairs += [(self.scenario[s], s) for s in scenarios if self.scenario[s] != s]
        return ("Key: " + "; ".join(f"{k} = {v}" for k, v in pairs) + ".") if pairs else ""


def _font_check(plt, texts):
    """Make the fonts draw every character of ``texts`` if an installed font can (added as a
    fallback family); return a function telling whether a text still lacks glyphs."""
    from matplotlib import font_manager
    from matplotlib.ft2font import FT2Font

    chars = {c for t in texts for c in str(t) if not c.isspace()}
    cache = {}

    def cmap(path):
        if path not in cache:
            try:
                cache[path] = set(FT2Font(path).get_charmap())
            except Exception:  # an unreadable font file is simply not used
                cache[path] = set()
        return cache[path]

    main = font_manager.findfont(font_manager.FontProperties(family=plt.rcParams["font.family"]),
                                 fallback_to_default=True)
    have = set(cmap(main))
    missing = {c for c in chars if ord(c) not in have}
    if missing:
        families = []
        for entry in font_manager.fontManager.ttflist:
            # "Last Resort" maps every character to a placeholder box: not a real glyph.
            if not entry.fname.lower().endswith((".ttf", ".otf", ".ttc")) or entry.name.startswith("Last Resort"):
                continue
            got = {c for c in missing if ord(c) in cmap(entry.fname)}
            if got:
                families.append(entry.name)
                have |= {ord(c) for c in got}
                missing -= got
            if not missing:
                break
        if families:
            plt.rcParams["font.family"] = ["DejaVu Sans", *dict.fromkeys(families)]
    return lambda text: any(ord(c) not in have for c in str(text) if not c.isspace())


def _save(plt, fig) -> tuple[bytes, bytes]:
    png, svg = io.BytesIO(), io.BytesIO()
    # The tight bounding box is computed once (one draw) and shared by both formats.
    bbox = fig.get_tightbbox(fig.canvas.get_renderer()).padded(0.1)
    fig.savefig(png, format="png", bbox_inches=bbox, metadata={"Software": None})
    fig.savefig(svg, format="svg", bbox_inches=bbox, metadata={"Date": None})
    plt.close(fig)
    return png.getvalue(), svg.getvalue()


def _scenario_figure(plt, run, table, names: _Names) -> Figure:
    import numpy as np

    s = next(x for x in run.scenarios if x.name == table.key)
    df = table.data
    D = len(s.true_prob_tox)
    designs = [d.label for d in run.designs]
    x = np.arange(D)
    width = 0.8 / max(1, len(designs))
    fig, axes = plt.subplots(1, 2, figsize=(9.2, 3.4))
    ticks = [f"DL{i + 1}\np={p:.2f}" for i, p in enumerate(s.true_prob_tox)]
    for ax, metric, ylabel in ((axes[0], "selection_pct", "Selected as MTD (% of trials)"),
                               (axes[1], "patients_mean", "Patients treated (mean per trial)")):
        for i in s.correct:
            ax.axvspan(i - 1 - 0.45, i - 1 + 0.45, color="#2e7d32", alpha=0.08, lw=0)
        for k, label in enumerate(designs):
            row = df[(df["design"] == label) & (df["metric"] == metric)].iloc[0]
            se = df[(df["design"] == label) & (df["metric"] == metric + "_se")].iloc[0]
            vals = np.array([row[f"dose_{i + 1}"] for i in range(D)], dtype=float)
            err = np.array([se[f"dose_{i + 1}"] for i in range(D)], dtype=float)
            pos = x - 0.4 + width * (k + 0.5)
            ax.bar(pos, vals, width * 0.92, color=PALETTE[k % len(PALETTE)], label=names.design[label])
            if np.nansum(err) > 0:
                ax.errorbar(pos, vals, yerr=1.96 * err, fmt="none", ecolor="#333333", elinewidth=0.7, capsize=1.5)
        ax.set_xticks(x, ticks)
        ax.set_ylabel(ylabel)
        ax.grid(axis="y", color="#dddddd", lw=0.6)
        ax.set_axisbelow(True)
    axes[0].set_ylim(0, 100)
    axes[0].set_title("Selection of the MTD")
    axes[1].set_title("Allocation of patients")
    handles, labels = axes[0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="upper center", ncol=min(len(designs), 6), bbox_to_anchor=(0.5, 1.06))
    fig.tight_layout()
    png, svg = _save(plt, fig)
    exact = run_methods(run) == {"exact"}
    caption = ("Shaded: correct dose(s). " + ("Computed exactly (no Monte Carlo error, so no error bars). " if exact
                                               else "Error bars: 95% Monte Carlo intervals (none for exact results). ")
               + "p: true DLT probability.")
    key = names.key_text(designs=designs)
    return Figure(f"scenario-{table.name.removeprefix('scenario-')}", f"Scenario: {s.name}", png, svg,
                  caption=f"{caption} {key}".strip(), key=s.name)


def _pages(items, size: int = PAGE_ROWS) -> list:
    return [items[i:i + size] for i in range(0, len(items), size)] or [[]]


def _selection_page(plt, run, tables, page: list, number: int, pages: int, names: _Names) -> Figure:
    """Selection % by scenario (rows) and dose (columns), one heat map per design."""
    import numpy as np

    designs = [d.label for d in run.designs]
    D = len(run.study.doses)
    by_key = {t.key: t for t in tables}
    fig, axes = plt.subplots(1, len(designs), figsize=(1.4 + 0.45 * D * len(designs) + 1.6,
                                                       0.19 * len(page) + 1.5),
                             sharey=True, squeeze=False)
    image = None
    for ax, label in zip(axes[0], designs):
        grid = np.full((len(page), D), np.nan)
        for r, s in enumerate(page):
            df = by_key[s.name].data
            row = df[(df["design"] == label) & (df["metric"] == "selection_pct")].iloc[0]
            grid[r] = [row[f"dose_{i + 1}"] for i in range(D)]
        image = ax.imshow(grid, aspect="auto", cmap="Blues", vmin=0, vmax=100, interpolation="nearest")
        rows = [r for r, s in enumerate(page) for _ in s.correct]
        cols = [i - 1 for s in page for i in s.correct]
        ax.scatter(cols, rows, s=9, facecolors="none", edgecolors="#2e7d32", linewidths=0.9)
        ax.set_title(names.design[label])
        ax.set_xticks(range(D), [f"DL{i + 1}" for i in range(D)])
        ax.tick_params(axis="y", labelsize=7)
    axes[0][0].set_yticks(range(len(page)), [names.scenario[s.name] for s in page])
    fig.colorbar(image, ax=axes[0].tolist(), shrink=0.6, label="Selected as MTD (% of trials)")
    png, svg = _save(plt, fig)
    first, last = page[0], page[-1]
    key = names.key_text(designs=designs, scenarios=[s.name for s in page])
    caption = (f"Scenarios {first.name} to {last.name} (page {number} of {pages}): percentage of trials selecting "
               "each dose as the MTD; circles mark the correct dose(s). The numbers are in the scenario tables.")
    return Figure(f"selection-page-{number:02d}", f"Selection of the MTD, page {number} of {pages}", png, svg,
                  caption=f"{caption} {key}".strip(), key=last.name)


def _curves_figure(plt, run, names: _Names) -> Figure:
    fig, ax = plt.subplots(figsize=(6.4, 3.4))
    D = len(run.study.doses)
    many = len(run.scenarios) > LEGEND_MAX
    if many:
        from matplotlib.collections import LineCollection

        for source, colour in (("explicit", "#0072B2"), ("prior", "#E69F00")):
            segs = [list(zip(range(1, D + 1), s.true_prob_tox)) for s in run.scenarios
                    if (s.source == "explicit") == (source == "explicit")]
            if segs:
                ax.add_collection(LineCollection(segs, colors=colour, linewidths=0.8, alpha=0.35,
                                                 linestyles="-" if source == "explicit" else "--"))
        ax.set_xlim(0.8, D + 0.2)
    else:
        for k, s in enumerate(run.scenarios):
            style = "--" if s.source != "explicit" else "-"
            ax.plot(range(1, D + 1), s.true_prob_tox, style, marker="o", ms=3.5, lw=1.4, label=names.scenario[s.name],
                    color=PALETTE[k % len(PALETTE)])
    ax.axhline(run.study.target, color="#b71c1c", lw=1, ls=":")
    ax.text(D + 0.05, run.study.target, f" target {run.study.target:g}", va="center", color="#b71c1c", fontsize=8)
    labels = [f"DL{i}" if names.missing(lab) else f"DL{i}\n{lab}"
              for i, lab in enumerate(run.study.doses.labels, start=1)]
    ax.set_xticks(range(1, D + 1), labels)
    ax.set_ylabel("True P(DLT)")
    ax.set_ylim(0, 1)
    ax.grid(axis="y", color="#dddddd", lw=0.6)
    if not many:
        ax.legend(loc="upper left", bbox_to_anchor=(1.02, 1), fontsize=8)
    fig.tight_layout()
    png, svg = _save(plt, fig)
    caption = ("Dashed: scenarios taken from the fitted literature prior." if not many else
               f"All {len(run.scenarios)} scenarios (solid: explicit, dashed: from the prior); the scenario "
               "table lists each curve.")
    key = "" if many else names.key_text(scenarios=[s.name for s in run.scenarios])
    return Figure("scenarios", "True dose-toxicity curves", png, svg, caption=f"{caption} {key}".strip())


def _comparison_figure(plt, run, comparison, names: _Names, page: list, number: int, pages: int) -> Figure:
    import numpy as np

    df = comparison.data
    scen = page
    designs = list(dict.fromkeys(df["design"]))
    fig, axes = plt.subplots(1, 2, figsize=(9.2, 0.3 * len(scen) * max(1.0, len(designs) / 2) + 1.4), sharey=True)
    y = np.arange(len(scen))
    h = 0.8 / max(1, len(designs))
    for ax, metric, title in ((axes[0], "pcs", "Correct selection (%)"),
                              (axes[1], "overdose_selection_pct", "Overdose selection (%)")):
        for k, d in enumerate(designs):
            sub = df[df["design"] == d].set_index("scenario").reindex(scen)
            vals = sub[metric].astype(float).to_numpy()
            ax.barh(y - 0.4 + h * (k + 0.5), np.nan_to_num(vals), h * 0.92, color=PALETTE[k % len(PALETTE)],
                    label=names.design[d])
        ax.set_title(title)
        ax.set_xlim(0, 100)
        ax.grid(axis="x", color="#dddddd", lw=0.6)
        ax.set_axisbelow(True)
    axes[0].set_yticks(y, [names.scenario[s] for s in scen])
    axes[0].invert_yaxis()
    handles, labels = axes[0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="upper center", ncol=min(len(designs), 6), bbox_to_anchor=(0.5, 1.04))
    fig.tight_layout()
    png, svg = _save(plt, fig)
    caption = ("Bars: percentage of trials" + (" (computed exactly)" if run_methods(run) == {"exact"} else "")
               + ". Correct selection where every dose is too toxic (true MTD 'none') is selecting no dose; "
               "overdose selection there is selecting any dose.")
    if pages > 1:
        caption = f"Page {number} of {pages}. " + caption
    key = names.key_text(designs=designs, scenarios=scen)
    return Figure("comparison" if number == 1 else f"comparison-{number:02d}",
                  "Correct and overdose selection by scenario" + (f", page {number} of {pages}" if pages > 1 else ""),
                  png, svg, caption=f"{caption} {key}".strip())


def build_figures(run, tables, progress=None) -> list:
    """Every figure of the report: the scenario curves; one per scenario (or paged heat
    maps for large studies); the comparison (paged likewise).  ``progress(done, total,
    label)`` is called before each figure and once at the end."""
    plt = _plt()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        texts = [d.label for d in run.designs] + [s.name for s in run.scenarios] + list(run.study.doses.labels)
        missing = _font_check(plt, texts)
        names = _Names(run, missing)
        scen_tables = [t for t in tables if t.group == "scenario"]
        comparison = [t for t in tables if t.group == "comparison"]
        scen_pages = _pages(run.scenarios) if len(run.scenarios) > PER_SCENARIO_MAX else None
        comp_pages = _pages([s.name for s in run.scenarios]) if comparison else []
        jobs = [("scenario curves", lambda: _curves_figure(plt, run, names))]
        if scen_pages is None:
            jobs += [(f"scenario {t.key}", lambda t=t: _scenario_figure(plt, run, t, names)) for t in scen_tables]
        else:
            jobs += [(f"selection page {k}", lambda k=k, page=page: _selection_page(
                plt, run, scen_tables, page, k, len(scen_pages), names)) for k, page in enumerate(scen_pages, 1)]
        for t in comparison:
            jobs += [(f"comparison page {k}", lambda k=k, page=page, t=t: _comparison_figure(
                plt, run, t, names, page, k, len(comp_pages))) for k, page in enumerate(comp_pages, 1)]
        out = []
        for k, (label, job) in enumerate(jobs):
            if progress is not None:
                progress(k, len(jobs), label)
            out.append(job())
        if progress is not None:
            progress(len(jobs), len(jobs), "figures drawn")
    return out
