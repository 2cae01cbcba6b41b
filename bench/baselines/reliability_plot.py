"""bench/baselines/reliability_plot.py -- the reliability plot of the side-by-side run.

plot(curves, path) draws one column per data set and two rows, one line
per learner in each:

- top: reliability, the mean confidence of each confidence decile against
  the observed precision of its top-1 answers (metrics.reliability()), for
  the learners whose confidence is meant as a probability; the diagonal is
  perfect calibration; deciles with fewer than MIN_PREDICTIONS answers are
  left out;
- bottom: the answers of every learner in ten equal-count groups by
  confidence, least confident first, against the observed precision of
  each group (metrics.rank_deciles()): how well each learner's own score
  orders its answers, whatever the score is (a margin, a rule that fires).

curves: {set: [(learner, is_probability, outcomes)]}, the engine first.
Matplotlib (Debian's python3-matplotlib), with the Agg backend: no display.
"""
import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

import metrics  # noqa: E402

MIN_PREDICTIONS = 30


def _style(i, learner):
    if i == 0:
        return dict(lw=2.4, color="black", marker="o", ms=4, zorder=5)
    return dict(lw=1.1, marker=".", ms=5, color="C%d" % ((i - 1) % 10))


def plot(curves, path):
    sets = list(curves)
    fig, axes = plt.subplots(2, len(sets), figsize=(max(4.3 * len(sets), 9.0), 8.8), squeeze=False)
    for col, name in enumerate(sets):
        top, bottom = axes[0][col], axes[1][col]
        top.plot([0, 1], [0, 1], color="grey", lw=0.8, ls=":")
        for i, (learner, probability, outcomes) in enumerate(curves[name]):
            style = _style(i, learner)
            if probability:
                pts = [(mc, pr) for _, n, mc, pr in metrics.reliability(outcomes) if n >= MIN_PREDICTIONS]
                if pts:
                    xs, ys = zip(*pts)
                    top.plot(xs, ys, label=learner, **style)
            groups = metrics.rank_deciles(outcomes)
            if groups:
                bottom.plot([g + 1 for g, _, _ in groups], [p for _, _, p in groups], label=learner, **style)
        top.set_title(name, fontsize=10)
        top.set_xlim(0, 1)
        top.set_ylim(0, 1.02)
        top.set_xlabel("mean confidence of the confidence decile")
        top.set_ylabel("observed precision of the top-1")
        bottom.set_xlim(0.5, 10.5)
        bottom.set_ylim(0, 1.02)
        bottom.set_xticks(range(1, 11))
        bottom.set_xlabel("tenth of the answers by confidence (1 = least)")
        bottom.set_ylabel("observed precision of the top-1")
        top.grid(alpha=0.3)
        bottom.grid(alpha=0.3)
    handles, labels = [], []
    for ax in axes[1]:
        for h, lab in zip(*ax.get_legend_handles_labels()):
            if lab not in labels:
                handles.append(h)
                labels.append(lab)
    fig.legend(handles, labels, loc="lower center", ncol=min(3, len(labels)), fontsize=8)
    fig.suptitle("Top: reliability, confidence decile vs observed precision (confidences meant as "
                 "probabilities; deciles with >= %d answers)\nBottom: precision by tenth of the answers, "
                 "ordered by each learner's own confidence" % MIN_PREDICTIONS, fontsize=9)
    fig.tight_layout(rect=(0, 0.07, 1, 0.95))
    fig.savefig(path, dpi=110)
    plt.close(fig)
