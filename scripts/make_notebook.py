"""Writes AlexNet.ipynb from the cells below (the notebook's source of truth).

Run `python scripts/make_notebook.py`, then execute it in place (README, "The notebook").
`--text-only RUN_DIR` rewrites only the Markdown cells of the executed notebook, keeping
its code and outputs, and fills its first cell from RUN_DIR's files (command, machine,
time); it refuses if any code cell differs.
"""

import argparse
import json
from pathlib import Path

import nbformat
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

PROJECT = Path(__file__).resolve().parent.parent
MODEL_FILE = PROJECT / "alexnet" / "models" / "alexnet.py"

EXECUTED = """**이 노트북의 실행 기록 / How this copy was executed.** {when}"""
NOT_EXECUTED = "(not executed yet)"

CELLS = [
    ("md", """# AlexNet in Keras 3

Krizhevsky, Sutskever, Hinton의 **AlexNet**(*ImageNet Classification with Deep
Convolutional Neural Networks*, NIPS 2012)을 Keras 3로 구현하고 학습하는 과정을 한 단계씩
따라간다: 데이터와 데이터 증강(data augmentation), 합성곱(convolution) 층으로 만든 모델,
SGD 학습과 체크포인트·조기 종료(early stopping), Top-1/Top-5 평가, 그래프, 그리고 이
실행 결과의 해석. 모든 단계는 이 셀들 안의 Keras 코드이고, 무거운 부분은 `alexnet/`
패키지가 맡는다. 명령줄(`python -m alexnet train`)도 같은 함수를 같은 순서로 부른다.

This notebook implements and trains **AlexNet** (Krizhevsky, Sutskever and Hinton, NIPS
2012) in Keras 3, step by step: data and augmentation, a model of convolutional layers, SGD
with checkpoints and early stopping, Top-1/Top-5 evaluation, plots, and a reading of this
run's own results. Every step is Keras code in these cells over the `alexnet/` package; the
command line (`python -m alexnet train`) calls the same functions in the same order.

{executed}"""),
    ("md", """## 0. 설정 / Parameters

학생이 고치는 곳은 바로 아래 셀 하나다. `quick` 레시피는 노트북 CPU에서 약 20분 안에 결과를
내도록 정했고, `modern`은 GPU에서 80 에폭을 학습하는 레시피, `paper`는 2012년 논문의
레시피다. `None`은 레시피의 값을 쓴다는 뜻이다.

The one cell a student edits. `quick` is sized for a laptop CPU (about 20 minutes),
`modern` for a GPU (80 epochs), `paper` is the 2012 recipe; `None` keeps the recipe's
value."""),
    ("code", """RECIPE = "quick"      # quick (a CPU, ~20 min) | modern (a GPU) | paper (2012)
DATA = "imagenette"   # a dataset folder, or a name looked up in $ALEXNET_DATA and data/
EPOCHS = None         # None: the recipe's
IMAGE_SIZE = None     # crop size in pixels; None: the recipe's
BATCH_SIZE = None     # None: the recipe's
LIMIT = None          # images per class; None: all"""),
    ("md", """(테스트용 셀: 읽지 않고 넘어가도 된다 / For the tests; a reader may skip it.) CI는
`ALEXNET_NB_*` 환경 변수로 이 노트북을 아주 작게 실행한다. CI runs this notebook tiny
through `ALEXNET_NB_*` environment variables, which override the parameters here."""),
    ("code", """import os

for name in ("RECIPE", "DATA", "EPOCHS", "IMAGE_SIZE", "BATCH_SIZE", "LIMIT"):
    if os.environ.get(f"ALEXNET_NB_{name}"):
        value = os.environ[f"ALEXNET_NB_{name}"]
        globals()[name] = value if name in ("RECIPE", "DATA") else int(value)"""),
    ("code", """%matplotlib inline
%config InlineBackend.figure_formats = ["jpeg"]
import alexnet  # noqa: F401, I001  first: how TensorFlow loads (fast CPU kernels, quiet)
import math
import time
from pathlib import Path

import keras
import matplotlib.pyplot as plt
from IPython.display import Markdown

from alexnet import evaluate, features, plots, reading, runfolder
from alexnet.models.summary import comparison_table, compare_variants
from alexnet.training import train
from alexnet.training.config import from_recipe
from alexnet.training.train import PaperSGD

plt.rcParams["figure.dpi"] = 72
config = from_recipe(RECIPE, data=DATA, epochs=EPOCHS, image_size=IMAGE_SIZE,
                     batch_size=BATCH_SIZE, limit=LIMIT,
                     out=f"checkpoints/notebook-{RECIPE}-{time.strftime('%Y%m%d-%H%M%S')}")
run = train.start(config, command=f"AlexNet.ipynb (RECIPE={RECIPE!r})")
print(f"Keras {keras.__version__} on {keras.backend.backend()}; recipe {config.recipe}: "
      f"{config.variant} network, {config.image_size} px, {config.epochs} epochs, batch "
      f"{config.batch_size}, peak learning rate {config.lr}; run folder {run.run_dir}")"""),
    ("md", """## 1. 데이터와 데이터 증강 / Data and augmentation

데이터셋은 `train/<클래스>/*`와 검증용 `val/<클래스>/*` 이미지를 담은 폴더다. 기본값은
Imagenette(ImageNet의 10개 클래스, 학습 9,469장, 검증 3,925장)이고, 찾지 못하면 공식 압축
파일을 내려받는다. `quick` 레시피는 이미지를 한 번만 디코딩해 메모리에 두고, 자르기와
뒤집기는 모델 앞의 Keras 층이 배치 단위로 한다.

A dataset is a folder of `train/<class>/*` and held-out `val/<class>/*` images; the default
is Imagenette (10 ImageNet classes, 9,469 training and 3,925 validation images), downloaded
when it is nowhere here. `quick` decodes every image once into memory; a Keras layer in
front of the model crops and flips whole batches."""),
    ("code", """inputs = train.load_data(run)
images, labels = inputs.examples(8, training=True)
plots.samples(images, labels, inputs.class_names,
              title="Eight training images as the network sees them");"""),
    ("md", """과적합(overfitting)을 막는 논문의 첫 번째 수단이 데이터 증강이다. 짧은 변을 256으로
줄인 이미지에서 224×224 조각을 무작위로 잘라내고 절반의 확률로 좌우를 뒤집는다(`basic`).
논문은 여기에 PCA 색 변화를 더한다(`paper`). `rrc`는 넓이 25-100 %, 가로세로 비 3/4-4/3의
창을 잘라 크기를 맞춘다. 평가는 가운데 조각을 쓰고, 논문의 10-crop 평가는 네 모서리와
가운데, 그리고 그 좌우 반전을 평균한다. 아래 그림에서 한 행은 같은 이미지에 대한 다섯 번의
무작위 추출이다.

The paper's first defence against overfitting is data augmentation: a random 224×224 crop of
the image resized to a shorter side of 256, flipped with probability 1/2 (`basic`); the paper
adds a PCA colour shift (`paper`); `rrc` takes windows of 25-100 % of the area. Evaluation
takes the centre crop; the paper's 10-crop test averages the four corners, the centre and
their mirror images. Each row: five random draws on one image."""),
    ("code", """plots.augmentations(inputs.train.files[0], config.image_size);"""),
    ("md", """## 2. 모델 / The network

다섯 개의 합성곱 층과 세 개의 완전 연결(FC) 층이다. 아래가 `alexnet/models/alexnet.py`
전체로, 모든 변형(variant)이 Keras 층으로 한 화면에 들어간다: `paper`는 2012년의 두 갈래
(two towers, `groups=2`) 네트워크와 국소 응답 정규화(LRN), `owt`는 torchvision의 한 갈래
구조, `bn`은 `owt`의 합성곱과 FC 층 뒤에 배치 정규화(batch normalization)를 넣은 것이다.
모델의 첫 층이 픽셀을 정규화하므로 저장된 `best.keras`는 0-255 RGB 사진을 그대로 받는다.
ReLU, 겹치는 최대 풀링(3×3, stride 2), 드롭아웃(dropout) 0.5는 세 변형에 공통이다.

Five convolutional and three fully connected layers. Below is all of
`alexnet/models/alexnet.py`, every variant as Keras layers on one screen: `paper` is the
2012 network with two towers and LRN, `owt` torchvision's single tower, `bn` adds
BatchNormalization. The first layer normalises the pixels, so a saved `best.keras` takes a
photo's 0-255 RGB values as they are.

```python
{model_source}```"""),
    ("code", """net = train.build_model(run)
net.summary(line_length=90)"""),
    ("md", """세 변형을 1000개 클래스 기준으로 나란히 놓으면 / The three variants side by side, for
1000 classes (multiply-accumulates per image; LRN, BatchNorm and the two towers, read off the
built models):"""),
    ("code", """Markdown(comparison_table(compare_variants()))"""),
    ("md", """## 3. 컴파일 / `compile`

최적화기(optimizer)는 모멘텀 0.9의 SGD이고, 가중치 감쇠(weight decay)는 논문의 식처럼
기울기에 더해져 모멘텀이 함께 나른다(`PaperSGD`, `keras.optimizers.SGD`의 하위 클래스).
학습률(learning rate)은 짧게 선형으로 올린 뒤(warm-up) 코사인으로 줄인다: 무작위 가중치에서
곧바로 큰 학습률을 쓰면 배치 정규화의 통계가 흔들리고, 끝에서 학습률을 0 가까이 낮추면
가중치가 좁은 최솟값에 자리 잡는다. 손실은 레이블 스무딩(label smoothing) 0.1의 교차
엔트로피다: 정답에 확률 1을 요구하지 않아 과신을 줄인다. 지표는 Top-1과 Top-5 정확도다.

SGD with momentum 0.9; weight decay enters the gradient as in the paper (`PaperSGD`, a
`keras.optimizers.SGD`). The learning rate warms up linearly, then decays on a cosine: a
large rate from random weights shakes BatchNorm's statistics, and a rate near zero at the end
settles the weights. Cross-entropy with label smoothing 0.1 (no probability of 1 is asked
of the true class, so the network is less over-confident); Top-1 and Top-5 accuracy."""),
    ("code", """steps_per_epoch = math.ceil(len(inputs.train) / config.batch_size)
schedule = train.learning_rate(config, steps_per_epoch)
net.compile(
    optimizer=PaperSGD(schedule, momentum=config.momentum, weight_decay=config.weight_decay),
    loss=keras.losses.CategoricalCrossentropy(label_smoothing=config.label_smoothing),
    metrics=[keras.metrics.CategoricalAccuracy(name="accuracy"),
             keras.metrics.TopKCategoricalAccuracy(5, name="top5_accuracy")])
plots.schedule(schedule, steps_per_epoch, config.epochs);"""),
    ("md", """## 4. 콜백 / Callbacks: `ModelCheckpoint`, `EarlyStopping`

`ModelCheckpoint`는 검증 정확도가 가장 높은 모델을 `best.keras`로 저장하고,
`EarlyStopping`은 검증 정확도가 `patience` 에폭 동안 나아지지 않으면 학습을 멈추고 가장
좋은 가중치로 되돌린다. `train.make_callbacks`는 여기에 명령줄과 같은 실행용 콜백을 더한다:
학습 몇 단계 만에 전체 시간을 재어 알려 주는 시간 추정(`TimeEstimate`), 에폭 시간 기록, 손실이
NaN이 되면 멈추기(Keras의 `TerminateOnNaN`), TensorBoard 로그, 그리고 매 에폭 가중치와
최적화기 상태를 `state/`에 저장해 중단된 학습을 이어 가게 하는 재개 상태.

`ModelCheckpoint` keeps the model with the best validation accuracy as `best.keras`;
`EarlyStopping` stops when validation accuracy has not improved for `patience` epochs and
restores the best weights. `train.make_callbacks` adds the run's own, as on the command line:
the run's time, measured a few steps in (`TimeEstimate`), epoch times, a stop on a NaN loss
(Keras' `TerminateOnNaN`), TensorBoard logs, and the resume state that lets a killed run
continue from its last epoch."""),
    ("code", """checkpoint = keras.callbacks.ModelCheckpoint(
    run.run_dir / "best.keras", monitor="val_accuracy", mode="max", save_best_only=True)
early_stopping = keras.callbacks.EarlyStopping(
    monitor="val_accuracy", mode="max", patience=config.patience, restore_best_weights=True)
chosen = [checkpoint, early_stopping]
if config.schedule == "plateau":  # the paper's recipe: lr / 10 when val_loss stalls
    chosen.append(keras.callbacks.ReduceLROnPlateau(monitor="val_loss", factor=0.1,
                                                    patience=config.lr_patience))
callbacks = train.make_callbacks(run, chosen)
print("callbacks:", ", ".join(type(callback).__name__ for callback in callbacks))"""),
    ("md", """## 5. 학습 / `fit`

얼마나 걸릴까? `TimeEstimate`가 첫 에폭의 몇 단계를 재어 전체 시간을 먼저 알려 준다.

How long will it take? `TimeEstimate` times a few steps of the first epoch and says so
first."""),
    ("code", """history = net.fit(inputs.train_batches(seed=config.seed),
                  validation_data=inputs.val_batches(), epochs=config.epochs,
                  callbacks=callbacks, verbose=2,  # one line an epoch
                  shuffle=False)  # the inputs reshuffle every epoch themselves
if early_stopping.stopped_epoch:
    print(f"EarlyStopping stopped the run after epoch {early_stopping.stopped_epoch + 1}: "
          f"no progress for {config.patience} epochs")
else:
    print(f"EarlyStopping did not stop the run: validation accuracy last improved in epoch "
          f"{early_stopping.best_epoch + 1} of {config.epochs}, fewer than "
          f"patience={config.patience} epochs before the end of the schedule")"""),
    ("md", """## 6. 평가 / Evaluation: Top-1 and Top-5 error

논문은 오류율(error rate)을 보고한다. Top-1 오류는 가장 확률이 높은 클래스가 틀린 비율,
Top-5 오류는 정답이 상위 다섯 개 안에 없는 비율이다. `train.finish`는 가장 좋은 체크포인트를
검증 이미지 전체의 가운데 조각과 논문의 10-crop으로 평가하고 `metrics.json`과 그림을 실행
폴더에 쓴다. 여기서의 손실은 레이블 스무딩이 없는 교차 엔트로피다.

The paper reports error rates: Top-1 (the most probable class is wrong) and Top-5 (the true
class is not among the five most probable). `train.finish` evaluates the best checkpoint on
every validation image, centre crop and the paper's ten crops, and writes `metrics.json` and
the plots into the run folder (its loss is plain cross-entropy, without label smoothing)."""),
    ("code", """metrics = train.finish(run)
print(f"{metrics['examples']} validation images, the best checkpoint:")
print(f"  centre crop: {evaluate.error_text(metrics, 1)}, {evaluate.error_text(metrics, 5)}")
print(f"  ten crops:   {evaluate.error_text(metrics['ten_crop'], 1)}, "
      f"{evaluate.error_text(metrics['ten_crop'], 5)}")"""),
    ("md", """## 7. 그래프와 해석 / Plots, and what they say

손실과 정확도 곡선. 아래 문장은 이 실행의 `history.csv`에서 만들어진다. / Loss and
accuracy per epoch; the words below are made from this run's `history.csv`."""),
    ("code", """run_history = runfolder.read_history(run.run_dir)
plots.curves(run_history)
plt.show()
for text in reading.curves(run_history):
    print(text)"""),
    ("md", """혼동 행렬(confusion matrix)의 행은 정답, 열은 예측이다. / The confusion matrix: rows
are the true classes, columns the predictions."""),
    ("code", """plots.confusion(metrics)
plt.show()
for text in reading.confusions(metrics):
    print(text)"""),
    ("md", """가장 자신 있게 틀린 검증 이미지들. 제목은 예측한 클래스와 그 확률, 그리고 정답이다.
/ The validation images the network got wrong most confidently: its guess and probability,
and the true class."""),
    ("code", """best = runfolder.load_model(run.run_dir / "best.keras")
probabilities, truth = evaluate.predict(best, inputs.eval_batches())
wrong = reading.mistakes(probabilities, truth, count=8)
features.gallery(inputs.eval_images(wrong), probabilities[wrong], truth[wrong],
                 inputs.class_names);"""),
    ("md", """첫 합성곱 층의 필터: 논문의 그림 3처럼 방향이 있는 경계와 색 얼룩을 배운다. 이어서 한
이미지가 층을 지날 때의 특징 맵(feature map)(각 층의 처음 여덟 채널)이다: 앞쪽 층은 경계와
색에, 뒤쪽 층은 더 작고 추상적인 부분에 반응한다.

The first layer's filters: oriented edges and colour blobs, as in the paper's Figure 3. Then
one image through the layers (the first eight channels of each): early layers answer edges
and colours, later ones smaller and more abstract parts."""),
    ("code", """features.conv1_filters(keras.ops.convert_to_numpy(best.get_layer("conv1").kernel))
features.feature_maps(best, inputs.eval_images([0])[0]);"""),
    ("md", """## 8. 왜 이 레시피인가 / Why this recipe

아래 표는 `results/`에 있는 실행들이다(모두 파일에서 읽는다). `quick`은 세 시드(seed)로 잰
레시피이고, 나머지는 `modern` 레시피를 128 px, 20 에폭으로 학습하며 한 가지씩 바꾼 실험
(ablation)과 논문 레시피다. 읽는 법:

- **배치 정규화와 He 초기화**: 논문의 N(0, 0.01) 초기화와 편향 1로는 Imagenette에서 첫 에폭에
  발산했다(`paper-first-steps-cpu.txt`). He 초기화 하나만 바꾸면 논문 네트워크도 학습된다
  (`imagenette-paper-cpu-128`).
- **데이터 증강과 드롭아웃**: 9,469장을 20 에폭만 학습하면 네트워크가 아직 과적합하지
  않는다. 그래서 증강을 끈 실행의 Top-1이 오히려 높다. 대신 학습 정확도와 검증 정확도의
  간격이 벌어진다(`train (last)`와 `val (last)`). 방어 수단은 학습이 길어질 때 값을 한다.
  `quick`이 약한 증강(`basic`)을 쓰는 이유다.
- **짧은 워밍업과 코사인 감쇠**: `modern`의 5 에폭 워밍업은 80 에폭용이다. 20 에폭에서는
  학습률이 최고일 때 검증 정확도가 무너졌다(`imagenette-modern-cpu-128`의 곡선).

The table lists the runs under `results/`, read from their files: `quick` over three seeds,
ablations of `modern` at 128 px and 20 epochs (one change each), and the paper's recipe.
BatchNorm and He initialisation: the paper's N(0, 0.01) weights diverged on Imagenette in the
first epoch; with He initialisation alone the paper's network trains. Augmentation and
dropout: at 20 epochs on 9,469 images the network does not overfit yet, so turning
augmentation off scores *higher* top-1 while the train/validation gap opens: the defences
pay off in longer training, which is why `quick` augments lightly. A short warm-up: the
5-epoch warm-up of `modern` (sized for 80 epochs) made validation collapse at the peak rate
in 20-epoch runs."""),
    ("code", """folders = [path.parent for path in sorted(Path("results").glob("*/metrics.json"))
           if not path.parent.name.endswith("-notebook")]  # this run is the last row
Markdown(reading.runs_table([*folders, run.run_dir]))"""),
    ("md", """## 9. ImageNet

같은 셀로 ILSVRC-2012를 학습한다: `DATA`를 그 폴더로, `RECIPE = "modern"`(또는
`"paper"`)으로 두고 GPU에서 실행한다. 먼저 TFRecord 샤드로 바꾸면 빠르다
(`python -m alexnet prepare /data/ILSVRC2012 /data/ilsvrc-shards`). 자세한 내용은
`docs/imagenet.md`와 `AlexNet.pdf`에 있다.

The same cells train on ILSVRC-2012: set `DATA` to its folder and `RECIPE = "modern"` (or
`"paper"`) on a GPU; converting it once to TFRecord shards is faster (`python -m alexnet
prepare /data/ILSVRC2012 /data/ilsvrc-shards`). Details: `docs/imagenet.md`, `AlexNet.pdf`."""),
]


def cells(executed: str) -> list:
    model_source = MODEL_FILE.read_text()
    made = []
    for kind, text in CELLS:
        if kind == "md":
            text = text.replace("{executed}", executed).replace("{model_source}", model_source)
            made.append(new_markdown_cell(text))
        else:
            made.append(new_code_cell(text))
    return made


def executed_words(run_dir: Path, command: str) -> str:
    """The first cell's record of the execution, from the run folder's files."""
    config = json.loads((run_dir / "config.json").read_text())
    metrics = json.loads((run_dir / "metrics.json").read_text())
    lines = (run_dir / "history.csv").read_text().splitlines()
    header = lines[0].split(",")
    seconds = sum(float(line.split(",")[header.index("epoch_seconds")]) for line in lines[1:])
    return (f"`{command}` on {config['machine']} (no GPU), on the full dataset "
            f"({config.get('dataset_root')}): {len(lines) - 1} epochs, "
            f"{seconds / 60:.1f} minutes of training; best checkpoint **{metrics['top1']:.1%} "
            f"top-1** ({metrics['ten_crop']['top1']:.1%} with ten crops), "
            f"{metrics['top5']:.1%} top-5 on {metrics['examples']:,} validation images "
            f"(`results/{run_dir.name}`). 위 명령으로 이 노트북을 처음부터 끝까지 실행했다.")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--text-only", metavar="RUN_DIR",
                        help="update the Markdown cells of the executed notebook only, the "
                             "first from RUN_DIR's files")
    parser.add_argument("--command", default="jupyter nbconvert --execute AlexNet.ipynb",
                        help="the command that executed it, for the first cell")
    args = parser.parse_args()
    path = PROJECT / "AlexNet.ipynb"
    if args.text_only:
        made = cells(EXECUTED.format(when=executed_words(Path(args.text_only), args.command)))
        notebook = nbformat.read(path, as_version=4)
        old = [c.source for c in notebook.cells if c.cell_type == "code"]
        if old != [c.source for c in made if c.cell_type == "code"]:
            raise SystemExit(f"{path}: its code cells differ from these; execute it anew")
        for executed, cell in zip(notebook.cells, made, strict=True):
            if cell.cell_type == "markdown":
                executed.source = cell.source
    else:
        notebook = new_notebook()
        notebook.cells = cells(EXECUTED.format(when=NOT_EXECUTED))
        notebook.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3",
                                           "language": "python"}
    nbformat.write(notebook, path)
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
