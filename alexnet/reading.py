"""A reading of a run's results in words, Korean then English, made from its numbers: what
the curves did, where the classes get confused. The notebook prints these after its plots,
so that what it says is always this run's."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from alexnet.data.ilsvrc import display_names
from alexnet.runfolder import load_config, load_metrics, read_history

COLLAPSE = 0.05  # a drop of validation accuracy below its best so far worth naming


def curves(history: dict[str, np.ndarray]) -> tuple[str, str]:
    """The best epoch, any collapse of validation accuracy, and the final gap between
    training and validation accuracy (training accuracy is measured on augmented images
    with dropout on, so it can sit below validation)."""
    val, train = history["val_accuracy"], history["accuracy"]
    best = int(np.argmax(val))
    ko = [f"검증 정확도(validation accuracy)는 {best + 1}번째 에폭에서 {val[best]:.1%}로 "
          "가장 높다."]
    en = [f"Validation accuracy peaks at {val[best]:.1%} in epoch {best + 1}."]
    drops = [(e, np.max(val[:e]) - val[e]) for e in range(1, len(val))
             if np.max(val[:e]) - val[e] > COLLAPSE]
    if drops:
        epoch, drop = max(drops, key=lambda d: d[1])
        lr = history.get("learning_rate")
        at = f" (학습률 {lr[epoch]:.3g})" if lr is not None else ""
        at_en = f" (learning rate {lr[epoch]:.3g})" if lr is not None else ""
        ko.append(f"{epoch + 1}번째 에폭에서 검증 정확도가 이전 최고보다 {100 * drop:.1f}%p "
                  f"떨어진다{at}: 학습률이 높은 구간에서 가중치가 크게 움직이고 "
                  "배치 정규화의 이동 통계가 뒤따라가지 못할 때 나타나는 흔들림이며, "
                  "학습률이 줄면서 회복된다.")
        en.append(f"In epoch {epoch + 1} it falls {100 * drop:.1f} points below its best so far"
                  f"{at_en}: at a high learning rate the weights move fast and BatchNorm's moving "
                  "statistics lag behind; it recovers as the rate decays.")
    else:
        ko.append(f"검증 정확도가 이전 최고보다 {100 * COLLAPSE:.0f}%p 넘게 떨어진 에폭은 없다.")
        en.append(f"No epoch falls more than {100 * COLLAPSE:.0f} points below the best so far.")
    gap = train[-1] - val[-1]
    if gap > 0.05:
        ko.append(f"마지막 에폭의 학습 정확도는 {train[-1]:.1%}, 검증 정확도는 {val[-1]:.1%}로 "
                  f"{100 * gap:.1f}%p 차이가 난다: 과적합(overfitting)이 시작되었다.")
        en.append(f"In the last epoch training accuracy is {train[-1]:.1%} against "
                  f"{val[-1]:.1%} on validation, a gap of {100 * gap:.1f} points: the network "
                  "has begun to overfit.")
    else:
        ko.append(f"마지막 에폭의 학습 정확도 {train[-1]:.1%}는 검증 정확도 {val[-1]:.1%}보다 "
                  "높지 않다: 드롭아웃과 데이터 증강이 걸린 학습 이미지가 더 어렵기 때문이며, "
                  "이 길이에서는 아직 과적합이 보이지 않는다.")
        en.append(f"Training accuracy in the last epoch ({train[-1]:.1%}) is not above "
                  f"validation ({val[-1]:.1%}): training images pass through dropout and "
                  "augmentation, and at this length the network does not overfit yet.")
    return " ".join(ko), " ".join(en)


def confusions(metrics: dict, weakest: int = 3) -> tuple[str, str]:
    """The ``weakest`` classes with their accuracy and the class each is most often taken
    for, and the most confused pair overall."""
    matrix = np.array(metrics["confusion_matrix"])
    names = display_names(metrics["class_names"])
    accuracy = {name: metrics["per_class_accuracy"][wnid]
                for name, wnid in zip(names, metrics["class_names"], strict=True)}
    measured = [n for n in names if accuracy[n] is not None]
    ko, en = [], []
    for name in sorted(measured, key=accuracy.get)[:weakest]:
        i = names.index(name)
        row = matrix[i].copy()
        row[i] = 0
        j = int(np.argmax(row))
        if row[j] == 0:
            ko.append(f"{name} {accuracy[name]:.0%}")
            en.append(f"{name} {accuracy[name]:.0%}")
            continue
        ko.append(f"{name} {accuracy[name]:.0%} ({row[j]}장을 {names[j]}(으)로 예측)")
        en.append(f"{name} {accuracy[name]:.0%} ({row[j]} of its images called {names[j]})")
    off = matrix.copy()
    np.fill_diagonal(off, 0)
    i, j = np.unravel_index(int(np.argmax(off)), off.shape)
    return (f"가장 약한 클래스: {', '.join(ko)}. 가장 많이 헷갈린 쌍은 {names[i]} → "
            f"{names[j]} ({off[i, j]}장)이다.",
            f"Weakest classes: {', '.join(en)}. The most frequent confusion is {names[i]} "
            f"taken for {names[j]} ({off[i, j]} images).")


def mistakes(probabilities: np.ndarray, labels: np.ndarray, count: int = 8) -> np.ndarray:
    """Indices of the ``count`` most confident mistakes (the highest probability given to
    a wrong class), the images worth looking at first."""
    predicted = probabilities.argmax(axis=1)
    wrong = np.flatnonzero(predicted != labels)
    return wrong[np.argsort(-probabilities[wrong, predicted[wrong]])][:count]


def runs_table(folders: list[Path]) -> str:
    """Finished runs side by side as a Markdown table, from their files: what differs,
    top-1 (centre and 10-crop), training and validation accuracy in the last epoch, and
    minutes of training. Folders without metrics.json are left out."""
    lines = ["| run | recipe | epochs | px | top-1 | 10-crop | train (last) | val (last) "
             "| minutes |", "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"]
    for folder in map(Path, folders):
        if not (folder / "metrics.json").is_file():
            continue
        config, metrics = load_config(folder), load_metrics(folder)
        history = read_history(folder)
        ten = (metrics.get("ten_crop") or {}).get("top1")
        lines.append(
            f"| {folder.name} | {config.get('recipe') or '-'} | {len(history['epoch'])} | "
            f"{config['image_size']} | {metrics['top1']:.1%} | "
            f"{f'{ten:.1%}' if ten is not None else '-'} | {history['accuracy'][-1]:.1%} | "
            f"{history['val_accuracy'][-1]:.1%} | {history['epoch_seconds'].sum() / 60:.1f} |")
    return "\n".join(lines)
