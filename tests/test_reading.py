"""The notebook's readings of a run, branch by branch on constructed histories and
metrics: each sentence must say what the numbers show, in Korean with particles that fit
the sound before them, and in English."""

from __future__ import annotations

import numpy as np
import pytest

from alexnet import reading

IMAGENETTE = ["n01440764", "n02102040", "n02979186", "n03000684", "n03028079", "n03394916",
              "n03417042", "n03425413", "n03445777", "n03888257"]


def history(val, train, rate=None) -> dict[str, np.ndarray]:
    record = {"epoch": np.arange(len(val), dtype=float), "val_accuracy": np.array(val, float),
              "accuracy": np.array(train, float)}
    if rate is not None:
        record["learning_rate"] = np.array(rate, float)
    return record


RISING = [0.30, 0.45, 0.55, 0.62, 0.70]


@pytest.mark.parametrize("word,particle,expected", [
    ("75.2%", "으로", "75.2%로"), ("12", "을", "12를"), ("13", "을", "13을"),
    ("10", "으로", "10으로"), ("11", "으로", "11로"), ("100", "은", "100은"),
    ("2", "이", "2가"), ("전기톱", "으로", "전기톱으로"), ("골프공", "을", "골프공을"),
    ("텐치", "으로", "텐치로"), ("낙하산", "이다", "낙하산이다"), ("교회", "이다", "교회다"),
    ("프렌치 호른", "을", "프렌치 호른을"), ("쓰레기차", "과", "쓰레기차와"),
    ("5.0%p", "을", "5.0%p를"), ("(3장을 전기톱으로 예측)", "이다", "(3장을 전기톱으로 예측)이다"),
    ("0.05", "으로", "0.05로"), ("1.6", "이", "1.6이"),
])
def test_particles_fit_the_sound_before_them(word, particle, expected):
    assert reading.josa(word, particle) == expected
    assert reading.josa(word, {"으로": "로", "을": "를", "은": "는", "이": "가", "과": "와",
                               "이다": "다"}[particle]) == expected


def test_an_unknown_particle_is_refused():
    with pytest.raises(ValueError, match="unknown particle"):
        reading.josa("12", "에서")


def test_peak_in_the_last_epoch_says_it_was_still_rising():
    ko, en = reading.curves(history(RISING, [0.2, 0.4, 0.5, 0.6, 0.66]))
    assert "highest in the last epoch, epoch 5, at 70.0%" in en and "still rising" in en
    assert "마지막 에포크인 5번째 에포크에서 70.0%로 가장 높다" in ko
    assert "best checkpoint" not in en


def test_peak_before_the_end_names_the_best_epoch_and_the_fall_after_it():
    ko, en = reading.curves(history([0.30, 0.60, 0.72, 0.71, 0.69], [0.3, 0.5, 0.6, 0.65, 0.7]))
    assert "highest in epoch 3 of 5, at 72.0%" in en and "best checkpoint is that epoch" in en
    assert "In the last epoch it is 69.0%, 3.0 points below its peak" in en
    assert "5에포크 중 3번째 에포크에서 72.0%로 가장 높고" in ko
    assert "마지막 에포크에서는 69.0%로 최고보다 3.0%p 낮다" in ko
    assert "still rising" not in en


def test_a_peak_the_last_epoch_matches_to_one_decimal_is_said_to_be_equal():
    _, en = reading.curves(history([0.5, 0.7201, 0.7199], [0.5, 0.6, 0.6]))
    assert "equals it to one decimal place" in en


def test_no_fall_is_said_to_be_none():
    ko, en = reading.curves(history(RISING, RISING), variant="bn")
    assert "No epoch falls more than 5 points" in en
    assert "5%p 넘게 떨어진 에포크는 없다" in ko
    assert "BatchNorm" not in en and "배치 정규화" not in ko


FALLING = [0.40, 0.55, 0.35, 0.50, 0.60]  # epoch 3 falls 20 points, epoch 5 regains the best
RATE = [0.01, 0.02, 0.02, 0.01, 0.001]


def test_a_fall_with_batchnorm_names_its_moving_statistics_as_a_possibility():
    ko, en = reading.curves(history(FALLING, FALLING, RATE), variant="bn")
    assert "In epoch 3 it falls 20.0 points below its best so far, 55.0%" in en
    assert "learning rate 0.02 in that epoch, 0.02 at most" in en
    assert "regains that best in epoch 5" in en
    assert "not measured here" in en and "BatchNorm's moving statistics may lag" in en
    assert "3번째 에포크에서 검증 정확도가 그때까지의 최고인 55.0%보다 20.0%p 떨어진다" in ko
    assert "5번째 에포크에서 그 최고를 되찾는다" in ko
    assert "측정하지 않았다" in ko and "이동 통계" in ko and "수 있다" in ko


@pytest.mark.parametrize("variant", ["paper", "owt"])
def test_a_fall_without_batchnorm_does_not_blame_it(variant):
    ko, en = reading.curves(history(FALLING, FALLING, RATE), variant=variant)
    assert "may lag" not in en and "cannot be the cause" in en
    assert f"The {variant} variant has no BatchNorm" in en
    assert "high learning rate" in en and "not measured here" in en  # 0.02 is the peak
    assert "뒤따라가지 못해" not in ko and f"{variant} 변형에는 배치 정규화가 없으므로" in ko


def test_a_fall_at_a_low_rate_is_not_put_on_a_high_one():
    ko, en = reading.curves(history(FALLING, FALLING, [0.1, 0.1, 0.01, 0.01, 0.01]))
    assert "high learning rate" not in en and "학습률이 높은" not in ko
    assert "not measured here" in en and "BatchNorm" not in en


def test_a_fall_never_regained_is_said_so():
    ko, en = reading.curves(history([0.4, 0.6, 0.45, 0.5, 0.55], [0.4] * 5))
    assert "does not regain that best by the last epoch" in en
    assert "마지막 에포크까지 그 최고를 되찾지 못한다" in ko
    assert "learning rate" not in en.split("The cause")[0]  # no rate column: none named


def test_training_below_validation_says_below():
    ko, en = reading.curves(history(RISING, [0.2, 0.4, 0.5, 0.6, 0.65]))
    assert "Training accuracy in the last epoch (65.0%) is 5.0 points below validation" in en
    assert "no sign of overfitting" in en
    assert "학습 정확도(training accuracy) 65.0%는 검증 정확도 70.0%보다 5.0%p 낮다" in ko


def test_training_equal_to_validation_says_equal():
    ko, en = reading.curves(history(RISING, RISING))
    assert "(70.0%) equals validation (70.0%)" in en
    assert "70.0%와 검증 정확도 70.0%는 소수점 첫째 자리까지 같다" in ko


@pytest.mark.parametrize("train", [0.789, 0.802])  # 3.7 points, and 5.0: the limit
def test_training_a_little_above_validation_says_above(train):
    ko, en = reading.curves(history([0.5, 0.6, 0.752, 0.74, 0.752], [0.5, 0.6, 0.7, 0.75, train]))
    points = f"{100 * (train - 0.752):.1f}"
    assert f"is above validation (75.2%) by {points} points: a small gap, within 5" in en
    assert "not above" not in en and "no clear sign of overfitting" in en
    assert f"검증 정확도 75.2%보다 {points}%p 높다. 5%p 이하의 작은 격차" in ko


def test_training_far_above_validation_says_overfitting():
    ko, en = reading.curves(history(RISING, [0.4, 0.6, 0.8, 0.9, 0.95]))
    assert "above validation (70.0%) by 25.0 points, more than 5" in en
    assert "begun to overfit" in en
    assert "95.0%로 검증 정확도 70.0%보다 25.0%p 높다. 5%p를 넘는 격차" in ko
    assert "과적합(overfitting)이 시작되었다는 신호다" in ko


def test_the_korean_reading_uses_one_word_for_epoch_and_no_placeholder():
    for variant in (None, "bn", "paper"):
        ko, _ = reading.curves(history(FALLING, [0.4, 0.6, 0.8, 0.9, 0.95], RATE), variant)
        assert "에폭" not in ko and "(으)" not in ko and "에포크" in ko


def metrics_of(matrix: list[list[int]], class_names: list[str]) -> dict:
    matrix = np.array(matrix)
    accuracy = np.diag(matrix) / matrix.sum(axis=1)
    return {"confusion_matrix": matrix.tolist(), "class_names": class_names,
            "per_class_accuracy": dict(zip(class_names, accuracy.tolist(), strict=True))}


def test_confusions_name_the_classes_in_korean_with_fitting_particles():
    matrix = np.diag([50] * 10)
    matrix[3, 5] = 30   # chain saw taken for French horn
    matrix[5, 3] = 10
    matrix[8, 9] = 20   # golf ball taken for parachute
    ko, en = reading.confusions(metrics_of(matrix.tolist(), IMAGENETTE), weakest=2)
    assert en.startswith("Weakest classes: chain saw 62% (30 of its images called French horn)")
    assert "golf ball 71% (20 of its images called parachute)" in en
    assert "chain saw taken for French horn (30 images)" in en
    assert ko.startswith("검증 정확도가 가장 낮은 클래스는 전기톱 62%(30장을 프렌치 호른으로 "
                         "예측), 골프공 71%(20장을 낙하산으로 예측)이다.")
    assert "가장 많이 혼동한 경우는 전기톱을 프렌치 호른으로 예측한 30장이다." in ko
    assert "(으)" not in ko


def test_confusions_without_mistakes_say_so():
    names = ["cat", "dog"]
    ko, en = reading.confusions(metrics_of([[5, 0], [0, 5]], names))
    assert "No image is misclassified." in en and "잘못 예측한 이미지는 없다." in ko
    assert "cat 100%" in en and "cat 100%" in ko


def test_korean_names_cover_imagenette_and_leave_others():
    assert reading.korean_names(IMAGENETTE) == [
        "텐치", "잉글리시 스프링어", "카세트 플레이어", "전기톱", "교회", "프렌치 호른", "쓰레기차",
        "주유기", "골프공", "낙하산"]
    assert reading.korean_names(["n99999999"]) == ["n99999999"]
