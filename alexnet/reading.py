"""A reading of a run's results in words, Korean then English, made from its numbers: what
the curves did, where the classes get confused. The notebook prints these after its plots,
so that what it says is always this run's."""

from __future__ import annotations

import numpy as np

from alexnet.data.names import display_names, korean_names

COLLAPSE = 0.05  # a drop of validation accuracy below its best so far worth naming
GAP = 0.05  # a lead of training over validation accuracy above which overfitting shows
BATCHNORM_VARIANTS = ("bn",)  # the variants with BatchNormalization (models/alexnet.py)

# How a digit is read at the end of a number: 영, 일, 이, 삼, 사, 오, 육, 칠, 팔, 구;
# the final consonant of that syllable ("" for none).
_DIGIT_END = {"0": "ㅇ", "1": "ㄹ", "2": "", "3": "ㅁ", "4": "", "5": "", "6": "ㄱ",
              "7": "ㄹ", "8": "ㄹ", "9": ""}
_FINALS = ("", "ㄱ", "ㄲ", "ㄳ", "ㄴ", "ㄵ", "ㄶ", "ㄷ", "ㄹ", "ㄺ", "ㄻ", "ㄼ", "ㄽ", "ㄾ",
           "ㄿ", "ㅀ", "ㅁ", "ㅂ", "ㅄ", "ㅅ", "ㅆ", "ㅇ", "ㅈ", "ㅊ", "ㅋ", "ㅌ", "ㅍ", "ㅎ")
_PAIRS = {"은": ("은", "는"), "이": ("이", "가"), "을": ("을", "를"), "과": ("과", "와"),
          "으로": ("으로", "로"), "이다": ("이다", "다")}


def final_sound(text: str) -> str:
    """The final consonant of how ``text`` is read aloud at its end ("" for a vowel): a
    Hangul syllable's own, a number's by its last digit (10, 100, 1000 and 10000 read 십,
    백, 천, 만), "%" and "%p" as 퍼센트(포인트); closing brackets and spaces skipped; a
    Latin word ends in a consonant after l, m, n (ㄹ for l), else in a vowel."""
    text = text.rstrip(" )]\"'’”")
    if text.endswith("%p") or text.endswith("%"):
        return ""
    if not text:
        return ""
    last = text[-1]
    if "가" <= last <= "힣":
        return _FINALS[(ord(last) - ord("가")) % 28]
    if last.isdigit():
        digits = text.replace(",", "")
        number = digits[len(digits.rstrip("0123456789")):]
        head = digits[:len(digits) - len(number)]
        zeros = len(number) - len(number.rstrip("0"))
        if head.endswith(".") or not number.rstrip("0") or zeros == 0:
            return _DIGIT_END[last]
        return {1: "ㅂ", 2: "ㄱ", 3: "ㄴ"}.get(zeros % 4, "ㄴ")  # 십, 백, 천, 만
    return {"l": "ㄹ", "m": "ㅁ", "n": "ㄴ"}.get(last.lower(), "")


def josa(text: str, particle: str) -> str:
    """``text`` followed by the form of ``particle`` (은, 이, 을, 과, 으로, 이다: either
    form may be given) that fits the sound it ends on: ``josa("75.2%", "으로")`` is
    "75.2%로", ``josa("12", "을")`` "12를", ``josa("전기톱", "이다")`` "전기톱이다"."""
    for after_consonant, after_vowel in _PAIRS.values():
        if particle in (after_consonant, after_vowel):
            end = final_sound(text)
            if after_consonant == "으로":  # ㄹ takes 로, as a vowel does
                return text + (after_vowel if end in ("", "ㄹ") else after_consonant)
            return text + (after_vowel if end == "" else after_consonant)
    raise ValueError(f"unknown particle {particle!r}: one of {', '.join(_PAIRS)}")


def _peak(val: np.ndarray) -> tuple[str, str]:
    """Where validation accuracy is highest, against the last epoch (the best checkpoint
    is the first epoch at the highest validation accuracy)."""
    best, last = int(np.argmax(val)), len(val) - 1
    peak = f"{val[best]:.1%}"
    if best == last:
        return (f"검증 정확도(validation accuracy)는 마지막 에포크인 {best + 1}번째 에포크에서 "
                f"{josa(peak, '으로')} 가장 높다. 학습이 끝날 때까지 오르고 있었다. 에포크를 "
                "늘리면 더 오를지는 더 길게 학습해 봐야 알 수 있다.",
                f"Validation accuracy is highest in the last epoch, epoch {best + 1}, at {peak}: "
                "it was still rising when training stopped (whether more epochs would raise it "
                "further, only a longer run can tell).")
    below = round(100 * (val[best] - val[last]), 1)
    ko = (f"검증 정확도(validation accuracy)는 {len(val)}에포크 중 {best + 1}번째 에포크에서 "
          f"{josa(peak, '으로')} 가장 높고, 가장 좋은 체크포인트가 이 에포크의 모델이다. ")
    en = (f"Validation accuracy is highest in epoch {best + 1} of {len(val)}, at {peak}; the "
          "best checkpoint is that epoch's model. ")
    if below == 0:
        return (ko + f"마지막 에포크의 {josa(f'{val[last]:.1%}', '은')} 이와 소수점 첫째 "
                "자리까지 같다.",
                en + f"The last epoch's {val[last]:.1%} equals it to one decimal place.")
    return (ko + f"마지막 에포크에서는 {josa(f'{val[last]:.1%}', '으로')} 최고보다 "
            f"{below:.1f}%p 낮다.",
            en + f"In the last epoch it is {val[last]:.1%}, {below:.1f} points below its peak.")


def _drop(history: dict[str, np.ndarray], variant: str | None) -> tuple[str, str]:
    """The largest fall of validation accuracy below its best so far (more than
    COLLAPSE), when it came back, and what may have caused it: not measured here, so
    said as a possibility, and BatchNorm's moving statistics only for a variant that has
    BatchNorm."""
    val = history["val_accuracy"]
    drops = [(e, np.max(val[:e]) - val[e]) for e in range(1, len(val))
             if np.max(val[:e]) - val[e] > COLLAPSE]
    if not drops:
        return (f"검증 정확도가 그때까지의 최고보다 {100 * COLLAPSE:.0f}%p 넘게 떨어진 에포크는 "
                "없다.",
                f"No epoch falls more than {100 * COLLAPSE:.0f} points below the best so far.")
    epoch, drop = max(drops, key=lambda d: d[1])
    before = np.max(val[:epoch])
    rate = history.get("learning_rate")
    rate = rate if rate is not None and np.all(np.isfinite(rate)) else None
    ko = (f"{epoch + 1}번째 에포크에서 검증 정확도가 그때까지의 최고인 {before:.1%}보다 "
          f"{100 * drop:.1f}%p 떨어진다")
    en = (f"In epoch {epoch + 1} it falls {100 * drop:.1f} points below its best so far, "
          f"{before:.1%}")
    high = False
    if rate is not None:
        high = bool(rate[epoch] >= 0.5 * np.max(rate))
        ko += f"(이 에포크의 학습률 {rate[epoch]:.3g}, 최댓값 {np.max(rate):.3g})"
        en += f" (learning rate {rate[epoch]:.3g} in that epoch, {np.max(rate):.3g} at most)"
    back = next((e for e in range(epoch + 1, len(val)) if val[e] >= before), None)
    if back is None:
        ko += ". 마지막 에포크까지 그 최고를 되찾지 못한다."
        en += ", and does not regain that best by the last epoch."
    else:
        ko += f". {back + 1}번째 에포크에서 그 최고를 되찾는다."
        en += f", and regains that best in epoch {back + 1}."
    ko += " 원인은 여기서 측정하지 않았다. "
    en += " The cause is not measured here: "
    if variant in BATCHNORM_VARIANTS:
        ko += ("가중치가 크게 움직이는 동안 배치 정규화(batch normalisation)의 이동 통계"
               "(moving statistics)가 뒤따라가지 못해, 평가 때 쓰는 통계가 학습 중의 배치 "
               "통계와 어긋났을 수 있다.")
        en += ("while the weights move fast, BatchNorm's moving statistics may lag behind, "
               "so that evaluation normalises with statistics that no longer fit the network.")
    elif high:
        ko += "학습률이 높은 구간에서 가중치가 한 번에 크게 움직인 탓일 수 있다."
        en += "at a high learning rate one epoch's steps may move the weights too far."
    else:
        ko += "한 에포크의 갱신이 검증 이미지에 맞지 않는 쪽으로 가중치를 옮긴 것일 수 있다."
        en += ("one epoch's updates may have moved the weights away from what fits the "
               "validation images.")
    if variant is not None and variant not in BATCHNORM_VARIANTS:
        ko += f" {variant} 변형에는 배치 정규화가 없으므로 그 이동 통계는 원인이 될 수 없다."
        en += (f" The {variant} variant has no BatchNorm, so BatchNorm's moving statistics "
               "cannot be the cause.")
    return ko, en


def _gap(train: np.ndarray, val: np.ndarray) -> tuple[str, str]:
    """Training against validation accuracy in the last epoch: below, equal (to one
    decimal place), above by at most GAP, or above by more."""
    t, v = f"{train[-1]:.1%}", f"{val[-1]:.1%}"
    points = round(100 * (train[-1] - val[-1]), 1)
    limit = f"{100 * GAP:.0f}"
    if points < 0:
        return (f"마지막 에포크의 학습 정확도(training accuracy) {josa(t, '은')} 검증 정확도 "
                f"{v}보다 {-points:.1f}%p 낮다. 학습 정확도는 에포크 동안 학습할 때의 조건 "
                "그대로(데이터 증강과 드롭아웃을 쓰는 실행이면 그것을 켠 채로) 잰 평균이라 검증 "
                "정확도보다 낮게 나올 수 있다. 이 격차로는 과적합(overfitting)의 징후가 보이지 "
                "않는다.",
                f"Training accuracy in the last epoch ({t}) is {-points:.1f} points below "
                f"validation ({v}): it is averaged over the epoch under training conditions "
                "(augmentation and dropout on, where the run uses them), which can put it "
                "below; this gap shows no sign of overfitting.")
    if points == 0:
        return (f"마지막 에포크의 학습 정확도(training accuracy) {josa(t, '과')} 검증 정확도 "
                f"{josa(v, '은')} 소수점 첫째 자리까지 같다. 이 격차로는 과적합(overfitting)의 "
                "징후가 보이지 않는다.",
                f"Training accuracy in the last epoch ({t}) equals validation ({v}) to one "
                "decimal place: no sign of overfitting.")
    if points <= 100 * GAP:
        return (f"마지막 에포크의 학습 정확도(training accuracy)는 {josa(t, '으로')} 검증 정확도 "
                f"{v}보다 {points:.1f}%p 높다. {limit}%p 이하의 작은 격차라 과적합(overfitting)이 "
                "뚜렷하다고 보기는 어렵다.",
                f"Training accuracy in the last epoch ({t}) is above validation ({v}) by "
                f"{points:.1f} points: a small gap, within {limit} points, and no clear sign of "
                "overfitting.")
    return (f"마지막 에포크의 학습 정확도(training accuracy)는 {josa(t, '으로')} 검증 정확도 "
            f"{v}보다 {points:.1f}%p 높다. {limit}%p를 넘는 격차는 네트워크가 새 이미지보다 학습 "
            "이미지에 더 잘 맞는다는 뜻이며, 과적합(overfitting)이 시작되었다는 신호다.",
            f"Training accuracy in the last epoch ({t}) is above validation ({v}) by "
            f"{points:.1f} points, more than {limit}: the network fits its training images "
            "better than new ones, a sign that it has begun to overfit.")


def curves(history: dict[str, np.ndarray], variant: str | None = None) -> tuple[str, str]:
    """Three sentences on a run's curves, Korean then English: where validation accuracy
    peaks against the last epoch; its largest fall below its best so far, if any, with a
    possible cause said as one (BatchNorm's moving statistics only where ``variant``, the
    run's, has BatchNorm; ``None``: not said); and the last epoch's gap between training
    and validation accuracy (training accuracy is measured on augmented images with
    dropout on, so it can sit below validation)."""
    val, train = np.asarray(history["val_accuracy"]), np.asarray(history["accuracy"])
    parts = [_peak(val), _drop(history, variant), _gap(train, val)]
    return " ".join(ko for ko, _ in parts), " ".join(en for _, en in parts)


def confusions(metrics: dict, weakest: int = 3) -> tuple[str, str]:
    """The ``weakest`` classes with their accuracy and the class each is most often taken
    for, and the most confused pair overall (Korean class names in the Korean text)."""
    matrix = np.array(metrics["confusion_matrix"])
    wnids = metrics["class_names"]
    names, korean = display_names(wnids), korean_names(wnids)
    accuracy = [metrics["per_class_accuracy"][wnid] for wnid in wnids]
    measured = [i for i, a in enumerate(accuracy) if a is not None]
    ko, en = [], []
    for i in sorted(measured, key=lambda k: accuracy[k])[:weakest]:
        row = matrix[i].copy()
        row[i] = 0
        j = int(np.argmax(row))
        if row[j] == 0:
            ko.append(f"{korean[i]} {accuracy[i]:.0%}")
            en.append(f"{names[i]} {accuracy[i]:.0%}")
            continue
        ko.append(f"{korean[i]} {accuracy[i]:.0%}({row[j]}장을 {josa(korean[j], '으로')} 예측)")
        en.append(f"{names[i]} {accuracy[i]:.0%} ({row[j]} of its images called {names[j]})")
    off = matrix.copy()
    np.fill_diagonal(off, 0)
    i, j = np.unravel_index(int(np.argmax(off)), off.shape)
    if off[i, j] == 0:
        pair_ko, pair_en = "잘못 예측한 이미지는 없다.", "No image is misclassified."
    else:
        pair_ko = (f"가장 많이 혼동한 경우는 {josa(korean[i], '을')} {josa(korean[j], '으로')} "
                   f"예측한 {off[i, j]}장이다.")
        pair_en = (f"The most frequent confusion is {names[i]} taken for {names[j]} "
                   f"({off[i, j]} images).")
    return (f"검증 정확도가 가장 낮은 클래스는 {josa(', '.join(ko), '이다')}. {pair_ko}",
            f"Weakest classes: {', '.join(en)}. {pair_en}")


def mistakes(probabilities: np.ndarray, labels: np.ndarray, count: int = 8) -> np.ndarray:
    """Indices of the ``count`` most confident mistakes (the highest probability given to
    a wrong class), the images worth looking at first."""
    predicted = probabilities.argmax(axis=1)
    wrong = np.flatnonzero(predicted != labels)
    return wrong[np.argsort(-probabilities[wrong, predicted[wrong]])][:count]
