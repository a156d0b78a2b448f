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

EXECUTED = """**이 노트북의 실행 기록 / How this copy was executed.** {when}"""
NOT_EXECUTED = "(아직 실행하지 않았다 / not executed yet)"

CELLS = [
    ("md", """# AlexNet in Keras 3

Krizhevsky, Sutskever, Hinton의 **AlexNet**(*ImageNet Classification with Deep
Convolutional Neural Networks*, NIPS 2012)을 Keras 3으로 구현하고 학습하는 과정을 한 단계씩
따라간다: 데이터와 데이터 증강(data augmentation), 합성곱(convolution) 층으로 만든 모델,
SGD 학습과 체크포인트·조기 종료(early stopping), Top-1/Top-5 평가, 그래프, 그리고 이
실행 결과의 해석. 모든 단계는 이 셀들 안의 Keras 코드다. 셀이 가져다 쓰는 `alexnet/`
패키지의 핵심부(core)는 데이터셋, 데이터 증강, 배치, 네트워크 정의, 평가와 그림만 담고
있다. 명령줄(`python -m alexnet train`)은 같은 함수를 같은 순서로 부르고, 긴 실행을 위한
장치(실행 폴더, 재개, 여러 장치)를 그 둘레에 더한다.

This notebook implements and trains **AlexNet** (Krizhevsky, Sutskever and Hinton, NIPS
2012) in Keras 3, step by step: data and augmentation, a model of convolutional layers, SGD
with checkpoints and early stopping, Top-1/Top-5 evaluation, plots, and a reading of this
run's own results. Every step is Keras code in these cells over the core of the `alexnet/`
package (datasets, augmentation, batches, the networks, evaluation, plots); the command line
(`python -m alexnet train`) calls the same functions in the same order and adds what long
runs need around them (run folders, resume, several devices).

**역사 / History.** AlexNet은 ILSVRC-2012 대회에서 상위 5개 오류율(top-5 error) 15.3 %로
우승했다. 2위 팀의 26.2 %보다 10 %p 넘게 낮은 결과였고, 이 차이가 GPU로 학습한 깊은
합성곱 신경망의 시대를 열었다. ReLU, 드롭아웃, 데이터 증강, 두 GPU에 나눈 학습이 그 논문의
재료다. AlexNet won ILSVRC-2012 with a top-5 error of 15.3 %, against 26.2 % for the next
entry: the result that started the era of deep convolutional networks trained on GPUs,
with ReLUs, dropout, data augmentation and a network split over two GPUs.

{executed}"""),
    ("md", """## 0. 설정 / Parameters

바꿔 볼 값은 모두 바로 아래 셀에 있다. `quick` 레시피는 GPU 없는 2코어 CPU에서 결과를
내도록 정했다. bfloat16 연산 장치가 있는 CPU에서는 10분 남짓, 대부분의 노트북 컴퓨터처럼
그런 장치가 없는 CPU(float32)에서는 20분 남짓 걸린다. `modern`은 GPU에서 80 에포크를
학습하는 레시피, `paper`는 2012년 논문의 레시피다. `None`은 레시피의 값을 그대로 쓴다는
뜻이다. `PRECISION`의 `auto`는 하드웨어가 bfloat16 연산 장치(CPU의 AMX나 AVX512-BF16,
Ampere 이후의 GPU)를 갖추었으면 혼합 정밀도 bfloat16으로, 아니면 float32로 학습한다.

Every value to change is in the cell below. `quick` is sized for a 2-core CPU without a GPU:
about ten minutes where the CPU has bfloat16 units, about twenty in float32 (most laptops);
`modern` for a GPU (80 epochs), `paper` is the 2012 recipe; `None` keeps the recipe's value.
`PRECISION = "auto"` trains in mixed bfloat16 where the hardware has bfloat16 units (AMX or
AVX512-BF16 on a CPU, an Ampere or later GPU), else in float32."""),
    ("code", """RECIPE = "quick"      # quick (a CPU, 10-20 min) | modern (a GPU) | paper (2012)
DATA = "imagenette"   # a dataset folder, or a name looked up in $ALEXNET_DATA and data/
EPOCHS = None         # None: the recipe's
IMAGE_SIZE = None     # crop size in pixels; None: the recipe's
BATCH_SIZE = None     # None: the recipe's
DROPOUT = None        # dropout before fc6 and fc7; None: the recipe's
AUGMENTATION = None   # basic | paper | rrc | none; None: the recipe's
LIMIT = None          # images per class; None: all
SEED = 0              # the weights, the shuffles and the augmentation
PRECISION = "auto"    # auto: bfloat16 where the hardware has it | float32"""),
    ("md", """테스트용 셀이니 읽지 않고 넘어가도 된다. CI는 `ALEXNET_NB_*` 환경 변수로 위의 값을
바꿔 이 노트북을 아주 작게 실행한다.

For the tests; a reader may skip it. CI runs this notebook tiny through `ALEXNET_NB_*`
environment variables, which override the parameters above."""),
    ("code", """import os

for name in ("RECIPE", "DATA", "EPOCHS", "IMAGE_SIZE", "BATCH_SIZE", "LIMIT", "PRECISION"):
    if os.environ.get(f"ALEXNET_NB_{name}"):
        value = os.environ[f"ALEXNET_NB_{name}"]
        globals()[name] = value if name in ("RECIPE", "DATA", "PRECISION") else int(value)"""),
    ("code", """import alexnet  # noqa: F401, I001  first: it loads TensorFlow quietly
import dataclasses
import json
import math
import time
from pathlib import Path

import keras
import matplotlib.pyplot as plt
import numpy as np
from keras import layers

from alexnet import evaluate, features, plots, reading, training
from alexnet.data import augment, batches
from alexnet.data.datasets import Dataset, locate
from alexnet.models.alexnet import MEAN, STD, build
from alexnet.recipes import from_recipe

plt.rcParams["figure.dpi"] = 72
config = from_recipe(RECIPE, data=DATA, epochs=EPOCHS, image_size=IMAGE_SIZE,
                     batch_size=BATCH_SIZE, dropout=DROPOUT, augmentation=AUGMENTATION,
                     limit=LIMIT, seed=SEED, precision=PRECISION)
keras.utils.set_random_seed(config.seed)
policy = training.precision(config.precision)
keras.mixed_precision.set_global_policy(policy)  # before the layers are made
machine = training.machine()
run_dir = Path("checkpoints") / f"notebook-{config.recipe}-{time.strftime('%Y%m%d-%H%M%S')}"
run_dir.mkdir(parents=True)
print(f"Keras {keras.__version__} on {keras.backend.backend()}, "
      f"{machine['gpu'] or machine['cpu']} ({machine['threads']} threads), {policy}")
print(f"Recipe {config.recipe}: {config.variant} network, {config.image_size} px, "
      f"{config.epochs} epochs, batch {config.batch_size}, peak learning rate {config.lr}; "
      f"files in {run_dir}")"""),
    ("md", """## 1. 데이터 / Data

데이터셋은 `train/<클래스>/*`와 검증용 `val/<클래스>/*` 이미지를 담은 폴더다. 기본값은
Imagenette(ImageNet의 10개 클래스, 학습 이미지 9,469장, 검증 이미지 3,925장)이고, 어디에도
없으면 공식 압축 파일을 내려받는다. 이미지는 한 번만 디코딩해 메모리에 둔다. 논문처럼 짧은
변을 맞춘 뒤 가운데 정사각형을 잘라 두는데, 128 px로 자를 때는 146 px 정사각형이다(224 px일
때의 256 px과 같은 비율).

A dataset is a folder of `train/<class>/*` and held-out `val/<class>/*` images; the default
is Imagenette (10 ImageNet classes, 9,469 training and 3,925 validation images), downloaded
when it is nowhere here. Every image is decoded once into memory as the paper prepared
ImageNet: the shorter side resized, the centre square cut (146 px for 128 px crops, as 256
is to 224)."""),
    ("code", """root = locate(config.data)
train_split, val_split = Dataset.open(root).splits(limit=config.limit, seed=config.seed)
class_names = train_split.class_names
train_data = batches.decode(train_split, config.image_size)
val_data = batches.decode(val_split, config.image_size)
print(f"{len(train_data)} training and {len(val_data)} validation images of "
      f"{len(class_names)} classes from {root}: {train_data.images.shape[1:]} uint8 each")"""),
    ("md", """## 2. 데이터 증강 / Data augmentation

과적합(overfitting)을 막는 논문의 첫 번째 수단이 데이터 증강(data augmentation)이다. 정사각형
이미지의 무작위 위치에서 조각을 잘라 내고 절반의 확률로 좌우를 뒤집는다. 논문이 학습에 쓴
조각 그대로이고, 이것이 `basic`이다(`RandomCropAndFlip`). 논문은 여기에 PCA 색 잡음을
더하고(`paper`), `rrc`는 넓이 25-100 %, 가로세로 비 3/4-4/3의 창을 잘라 크기를 맞춘다. 세
층 모두 `alexnet/data/augment.py`에 직접 만든 Keras 층이며, 배치 안의 이미지마다 따로
뽑는다. Keras의 `RandomCrop`은 배치 전체에 창 하나를 쓰고, `RandomFlip`은 뒤집은 배치를
통째로 계산한 뒤 고르느라 학습에 필요한 CPU 시간을 더 쓴다. 평가는 Keras의 가운데
자르기(`CenterCrop`)를 쓰고, 논문의 10-crop 평가는 네 모서리와 가운데, 그리고 그 좌우
반전을 평균한다. 아래 그림의 한 행은 한 이미지의 복사본 다섯 장을 한 배치로 넣은 결과이고,
학습에 쓰는 바로 그 함수(`augment.augmentation`)로 그렸다.

The paper's first defence against overfitting is data augmentation: a patch at a random
place of the square, mirrored with probability 1/2, the paper's training patches: `basic`
(`RandomCropAndFlip`). The paper adds PCA colour noise (`paper`); `rrc` takes windows of
25-100 % of the area. All three are Keras layers of our own (`alexnet/data/augment.py`)
that draw for each image of a batch: Keras' `RandomCrop` draws one window for the whole
batch, and its `RandomFlip` computes the mirrored batch to choose from, CPU time the
training step needs. Evaluation takes Keras' centre crop (`CenterCrop`); the paper's 10-crop
test averages the four corners, the centre and their mirror images. Each row: a batch of
five copies of one image, by the very function training uses (`augment.augmentation`)."""),
    ("code", """augmentation = augment.augmentation(config.augmentation, config.image_size,
                                    seed=config.seed)
print(f"{config.augmentation}:", " -> ".join(type(layer).__name__
                                              for layer in augmentation.layers))
train_batches = batches.training(train_data, config.image_size, config.batch_size,
                                 augmentation, seed=config.seed)
val_batches = batches.evaluation(val_data, 2 * config.batch_size, config.image_size)
plots.augmentations(train_data.images[0], config.image_size, seed=config.seed);"""),
    ("md", """## 3. 모델 / The network

다섯 개의 합성곱(convolution) 층과 세 개의 완전 연결(FC) 층이다. 아래 셀이 `bn` 변형 전체를
Keras 층으로 쓴 것이다. 이 셀을 고쳐 다시 실행하면 그 네트워크가 학습된다. 층마다 합성곱 뒤에
배치 정규화(batch normalization)와 ReLU가 오고, 겹치는 최대 풀링(3×3, stride 2)이
크기를 줄이며, fc6와 fc7 앞에 드롭아웃(dropout)이 있다(논문은 0.5, `quick` 레시피는
0.25). 첫 층이 픽셀을 ImageNet의
평균과 표준편차로 정규화하므로 저장된 `best.keras`는 0-255 RGB 사진을 그대로 받는다.
가중치 감쇠(weight decay)는 Keras의 L2 규제(`kernel_regularizer`)로 건다. 그 기울기
2 × (wd/2) × w가 손실의 기울기에 더해진 뒤 모멘텀을 거치므로 논문의 갱신 식과 같다. 패키지의
`alexnet/models/alexnet.py`는 같은 네트워크와 함께 2012년의 `paper`(두 갈래, LRN)와
torchvision의 `owt`를 담고 있으며, 테스트가 이 셀의 네트워크를 패키지의 `bn`과 비교한다.

Five convolutional and three fully connected layers: the cell below is the whole `bn`
variant in Keras layers; edit it and re-run, and that is the network that trains. Each
convolution is followed by BatchNormalization and ReLU, overlapping max pooling (3×3,
stride 2) shrinks the maps, and dropout comes before fc6 and fc7 (0.5 in the paper, 0.25
in `quick`). The first layer
normalises the pixels with ImageNet's mean and standard deviation, so a saved `best.keras`
takes a photo's 0-255 RGB values as they are. Weight decay is Keras' L2 kernel regularizer:
its gradient, 2 × (wd/2) × w, joins the loss's before momentum, as in the paper's update.
`alexnet/models/alexnet.py` holds the same network beside the 2012 `paper` (two towers, LRN)
and torchvision's `owt`; a test holds this cell's network equal to the package's `bn`."""),
    ("code", """def alexnet_bn(num_classes, image_size, dropout=0.5, weight_decay=5e-5):
    decay = keras.regularizers.L2(weight_decay / 2)

    def conv(x, filters, kernel, name, strides=1):
        x = layers.Conv2D(filters, kernel, strides, padding="valid" if kernel == 11 else "same",
                          use_bias=False, kernel_initializer="he_normal",
                          kernel_regularizer=decay, name=name)(x)
        x = layers.BatchNormalization(momentum=0.9, name=f"{name}_bn")(x)
        return layers.ReLU(name=f"{name}_relu")(x)

    def dense(x, units, name):
        x = layers.Dense(units, use_bias=False, kernel_initializer="he_normal",
                         kernel_regularizer=decay, name=name)(x)
        x = layers.BatchNormalization(momentum=0.9, name=f"{name}_bn")(x)
        return layers.ReLU(name=f"{name}_relu")(x)

    def pool(x, name):  # overlapping pooling: 3x3 windows, stride 2
        return layers.MaxPooling2D(3, 2, name=name)(x)

    inputs = keras.Input((image_size, image_size, 3), name="image")       # RGB, 0-255
    x = layers.Normalization(mean=MEAN, variance=[s * s for s in STD], dtype="float32",
                             name="preprocess")(inputs)
    x = layers.ZeroPadding2D(2, name="pad1")(x)                           # at 224 px:
    x = pool(conv(x, 64, 11, "conv1", strides=4), "pool1")                # 27x27x64
    x = pool(conv(x, 192, 5, "conv2"), "pool2")                           # 13x13x192
    x = conv(x, 384, 3, "conv3")                                          # 13x13x384
    x = conv(x, 256, 3, "conv4")                                          # 13x13x256
    x = pool(conv(x, 256, 3, "conv5"), "pool5")                           # 6x6x256
    x = (layers.AdaptiveAveragePooling2D(6, name="avgpool") if x.shape[1] > 1
         else layers.UpSampling2D(6, name="avgpool"))(x)                  # 6x6x256
    x = layers.Flatten(name="flatten")(x)
    x = dense(layers.Dropout(dropout, name="drop6")(x), 4096, "fc6")
    x = dense(layers.Dropout(dropout, name="drop7")(x), 4096, "fc7")
    x = layers.Dense(num_classes, kernel_initializer="he_normal", kernel_regularizer=decay,
                     name="fc8")(x)
    outputs = layers.Activation("softmax", dtype="float32", name="softmax")(x)
    return keras.Model(inputs, outputs, name="alexnet_bn")


if config.variant == "bn":
    net = alexnet_bn(len(class_names), config.image_size, config.dropout, config.weight_decay)
else:  # paper or owt: the package's definition
    net = build(config.variant, len(class_names), config.image_size, init=config.init,
                dropout=config.dropout, weight_decay=config.weight_decay)
net.summary(line_length=90)"""),
    ("md", """## 4. 컴파일 / `compile`

최적화기(optimizer)는 모멘텀 0.9의 SGD(`keras.optimizers.SGD`)다. 학습률(learning rate)은
짧게 선형으로 올린 뒤(warm-up) 코사인 곡선을 따라 0까지 줄인다(`CosineDecay`). 무작위
가중치에서 곧바로 큰 학습률을 쓰면 배치 정규화의 통계가 흔들리고, 끝에서 학습률을 0 가까이
낮추면 가중치가 한곳에 자리 잡는다. 손실은 레이블 스무딩(label smoothing) 0.1을 건 교차
엔트로피다. 정답에 확률 1을 요구하지 않으므로 네트워크가 덜 과신한다. 지표는 Top-1과
Top-5 정확도다.

SGD with momentum 0.9 (`keras.optimizers.SGD`). The learning rate warms up linearly, then
decays to zero on a cosine (`CosineDecay`): a large rate from random weights shakes
BatchNorm's statistics, and a rate near zero at the end settles the weights. Cross-entropy
with label smoothing 0.1 (no probability of 1 is asked of the true class, so the network is
less over-confident); Top-1 and Top-5 accuracy."""),
    ("code", """steps_per_epoch = math.ceil(len(train_data) / config.batch_size)
schedule = training.learning_rate(config, steps_per_epoch)
net.compile(
    optimizer=keras.optimizers.SGD(schedule, momentum=config.momentum),
    loss=keras.losses.CategoricalCrossentropy(label_smoothing=config.label_smoothing),
    metrics=[keras.metrics.CategoricalAccuracy(name="accuracy"),
             keras.metrics.TopKCategoricalAccuracy(5, name="top5_accuracy")])
plots.schedule(schedule, steps_per_epoch, config.epochs);"""),
    ("md", """## 5. 콜백 / Callbacks

`fit`이 받는 콜백은 아래 셀의 네 개가 전부다. `ModelCheckpoint`는 검증 정확도가 가장 높은
모델을 `best.keras`로 저장하고, `EarlyStopping`은 검증 정확도가 `patience` 에포크 동안
나아지지 않으면 학습을 멈추고 가장 좋은 가중치로 되돌린다. `CSVLogger`는 에포크마다 한 줄씩
`history.csv`에 쓰고, `EpochTimer`(패키지의 것: Keras의 기록에는 시간이 없다)는 에포크마다
걸린 시간과 학습률을 그 줄에 더한다. 명령줄(`python -m alexnet train`)은 같은 콜백에 긴 실행을
위한 것들을 덧붙인다: 중단된 학습을 이어 가는 재개 상태, 디스크 공간 확인, TensorBoard 로그.

These four are every callback `fit` gets. `ModelCheckpoint` keeps the model with the best
validation accuracy as `best.keras`; `EarlyStopping` stops when validation accuracy has not
improved for `patience` epochs and restores the best weights; `CSVLogger` writes a line an
epoch to `history.csv`, and `EpochTimer` (the package's: Keras' history keeps no times) adds
each epoch's seconds and learning rate to it. The command line adds what long runs need
around the same callbacks: a resume state, a disk check, TensorBoard logs."""),
    ("code", """checkpoint = keras.callbacks.ModelCheckpoint(
    run_dir / "best.keras", monitor="val_accuracy", mode="max", save_best_only=True)
early_stopping = keras.callbacks.EarlyStopping(
    monitor="val_accuracy", mode="max", patience=config.patience, restore_best_weights=True)
callbacks = [training.EpochTimer(), checkpoint, early_stopping,
             keras.callbacks.CSVLogger(run_dir / "history.csv")]
if config.schedule == "plateau":  # the paper's recipe: lr / 10 when val_loss stalls
    callbacks.append(keras.callbacks.ReduceLROnPlateau(monitor="val_loss", factor=0.1,
                                                       patience=config.lr_patience))"""),
    ("md", """## 6. 학습 / `fit`

에포크마다 한 줄이 나온다. 학습 정확도는 증강과 드롭아웃을 거친 이미지에서 잰 값이다.

One line an epoch; training accuracy is measured on augmented images with dropout on."""),
    ("code", """history = net.fit(train_batches, validation_data=val_batches, epochs=config.epochs,
                  callbacks=callbacks, verbose=2,  # one line an epoch
                  shuffle=False)  # the batches reshuffle every epoch themselves
minutes = sum(history.history["epoch_seconds"]) / 60
if early_stopping.stopped_epoch:
    print(f"EarlyStopping stopped the run after epoch {early_stopping.stopped_epoch + 1}: "
          f"no progress for {config.patience} epochs; {minutes:.1f} minutes of training")
else:
    print(f"{minutes:.1f} minutes of training. EarlyStopping did not stop the run: validation "
          f"accuracy last improved in epoch {early_stopping.best_epoch + 1} of "
          f"{config.epochs}, fewer than patience={config.patience} epochs from the end")"""),
    ("md", """## 7. 평가 / Evaluation: Top-1 and Top-5 error

논문은 오류율(error rate)을 보고한다. Top-1 오류는 확률이 가장 높은 클래스가 틀린 비율이고,
Top-5 오류는 정답이 상위 다섯 클래스 안에 없는 비율이다. 저장된 `best.keras`를 Keras만으로
다시 읽어 검증 이미지 전체를 가운데 조각과 논문의 10-crop으로 평가한다. 여기서의 손실은
레이블 스무딩이 없는 교차 엔트로피다. 설정과 결과는 함께 읽는 PDF를 위해 실행 폴더에 쓴다.

The paper reports error rates: Top-1 (the most probable class is wrong) and Top-5 (the true
class is not among the five most probable). The saved `best.keras` is read back with Keras
alone and evaluated on every validation image, centre crop and the paper's ten crops (its
loss is plain cross-entropy, without label smoothing). The settings and the figures go into
the run folder, for the companion PDF."""),
    ("code", """best = keras.saving.load_model(run_dir / "best.keras")
metrics = evaluate.evaluate_split(best, val_data, config.image_size, 2 * config.batch_size)
print(f"{metrics['examples']} validation images, the best checkpoint:")
print(f"  centre crop: {evaluate.error_text(metrics, 1)}, {evaluate.error_text(metrics, 5)}")
print(f"  ten crops:   {evaluate.error_text(metrics['ten_crop'], 1)}, "
      f"{evaluate.error_text(metrics['ten_crop'], 5)}")
record = {**dataclasses.asdict(config), "precision_used": policy, "machine_details": machine,
          "machine": machine["gpu"] or f"{machine['cpu']}, {machine['threads']} cores",
          "command": "AlexNet.ipynb", "class_names": class_names, "dataset_root": str(root)}
(run_dir / "config.json").write_text(json.dumps(record, indent=2) + "\\n")
(run_dir / "metrics.json").write_text(json.dumps(metrics, indent=2) + "\\n")"""),
    ("md", """## 8. 그래프와 해석 / Plots, and what they say

왼쪽은 손실, 오른쪽은 Top-1 정확도다. 그 아래는 논문이 보고하는 방식대로 Top-1과 Top-5
오류율을 에포크마다 그렸다. 그림 아래의 문장은 이 실행의 기록(`history.history`)에서 만들어진다.

Loss and Top-1 accuracy per epoch, then the Top-1 and Top-5 error rates as the paper reports
them; the words below are made from this run's history."""),
    ("code", """run_history = {key: np.array(values) for key, values in history.history.items()}
plots.curves(run_history)
plots.errors(run_history)
plt.show()
for text in reading.curves(run_history, variant=config.variant):
    print(text)"""),
    ("md", """혼동 행렬(confusion matrix)의 행은 정답, 열은 예측이다. / The confusion matrix: rows
are the true classes, columns the predictions."""),
    ("code", """plots.confusion(metrics)
plt.show()
for text in reading.confusions(metrics):
    print(text)"""),
    ("md", """논문의 그림 4(왼쪽)처럼 검증 이미지 몇 장과 그 상위 다섯 예측을 막대로 그렸다.
논문처럼 빨간 막대가 정답이다. 그 아래는 네트워크가 가장 자신 있게 틀린 검증 이미지들로,
제목은 예측한 클래스와 그 확률, 그리고 정답이다.

Ours of the paper's Figure 4 (left): validation images with their five most probable classes
as bars, the true class in red as in the paper. Then the images the network got wrong most
confidently: its guess and probability, and the true class."""),
    ("code", """probabilities, truth = evaluate.predict(best, batches.evaluation(
    val_data, 2 * config.batch_size, config.image_size))
crops = augment.centre_crop(config.image_size)
shown = list(range(0, len(truth), max(1, len(truth) // 8)))[:8]  # across the classes
plots.top5_bars(keras.ops.convert_to_numpy(crops(val_data.images[shown])),
                  probabilities[shown], truth[shown], class_names)
wrong = reading.mistakes(probabilities, truth, count=8)
features.gallery(keras.ops.convert_to_numpy(crops(val_data.images[wrong])),
                 probabilities[wrong], truth[wrong], class_names);"""),
    ("md", """첫 합성곱 층의 필터와, 한 이미지가 층을 지날 때의 특징 맵(feature map)이다(각 층의
처음 여덟 채널). 뒤쪽 층일수록 맵은 작아지지만 맵의 한 점이 보는 입력 영역(수용 영역, receptive
field)은 넓어진다. 짧게 학습한 필터가 논문의 그림 3처럼 뚜렷한 경계와 색 얼룩이 되는지는
그림에서 직접 확인해야 한다.

The first layer's filters, then one image through the layers (the first eight channels of
each): later maps are smaller, but each of their points sees a larger region of the input
(its receptive field). Whether filters trained this briefly become the paper's Figure 3
edges and colour blobs is for the figure to show."""),
    ("code", """features.conv1_filters(keras.ops.convert_to_numpy(best.get_layer("conv1").kernel))
image = keras.ops.convert_to_numpy(crops(val_data.images[:1]))[0]
features.feature_maps(best, image);"""),
    ("md", """## 9. ImageNet

같은 셀로 ILSVRC-2012를 학습한다: `DATA`를 그 폴더로, `RECIPE = "modern"`(또는
`"paper"`)으로 두고 GPU에서 실행한다. 먼저 TFRecord 샤드로 바꾸면 빠르다
(`python -m alexnet prepare /data/ILSVRC2012 /data/ilsvrc-shards`). 자세한 내용은
`docs/imagenet.md`와 `AlexNet.pdf`에 있다.

The same cells train on ILSVRC-2012: set `DATA` to its folder and `RECIPE = "modern"` (or
`"paper"`) on a GPU; converting it once to TFRecord shards is faster (`python -m alexnet
prepare /data/ILSVRC2012 /data/ilsvrc-shards`). Details: `docs/imagenet.md`, `AlexNet.pdf`."""),
    ("md", """## 연습 문제 / Exercises

맨 위의 설정 셀에서 한 가지만 바꾸고 노트북을 처음부터 다시 실행한 뒤, 위의 결과와 비교한다.

1. `AUGMENTATION = "none"`: 무작위 자르기와 뒤집기를 끈다. 곡선 그림에서 학습 정확도와 검증
   정확도의 격차가 어떻게 변하는지, 그리고 Top-1 정확도가 오르는지 내리는지 본다. 8 에포크
   안에 과적합이 보이는가?
2. `DROPOUT = 0.5`: 논문의 드롭아웃 비율이다. 짧은 학습에서 학습 정확도와 검증 정확도가 둘 다
   어떻게 달라지는지 본다. 이 레시피가 0.25를 쓰는 이유를 확인할 수 있다.
3. `EPOCHS = 16`: 학습을 두 배로 늘린다. 검증 정확도가 계속 오르는지, 학습 정확도만 오르는지
   (과적합의 시작) 보고, 늘어난 시간과 얻은 정확도를 견주어 본다.
4. `IMAGE_SIZE = 96` 또는 `160`: 에포크 시간이 픽셀 수에 비례해 변하는지(96 px 이미지의
   픽셀 수는 128 px 이미지의 약 56 %) 보고, 정확도가 얼마나 떨어지거나 오르는지 본다.
5. `SEED = 1`, `SEED = 2`: 같은 레시피를 다른 시드로 돌린다. Top-1이 시드에 따라 얼마나
   흔들리는지 보면, 두 설정의 차이가 이 흔들림보다 커야 의미가 있다는 것을 알 수 있다.
6. `PRECISION = "float32"`: bfloat16 연산 장치가 있는 CPU라면 에포크 시간이 얼마나 길어지는지,
   정확도는 거의 같은지 본다. 그런 장치가 없는 컴퓨터에서는 `auto`가 이미 float32다.

Change one value in the parameter cell at the top, run the notebook again from the start,
and compare with the results above.

1. `AUGMENTATION = "none"`: no random crops or flips. Watch the gap between training and
   validation accuracy in the curves, and whether top-1 rises or falls: does the network
   overfit within 8 epochs?
2. `DROPOUT = 0.5`, the paper's rate: how training and validation accuracy both change in a
   short run, and why this recipe uses 0.25.
3. `EPOCHS = 16`: twice the training. Does validation accuracy keep rising, or only training
   accuracy (overfitting begins)? Weigh the minutes against the points gained.
4. `IMAGE_SIZE = 96` or `160`: does the epoch time follow the number of pixels (96 px is about
   56 % of 128 px), and how much accuracy is lost or gained?
5. `SEED = 1`, `SEED = 2`: the same recipe from other seeds. How far top-1 moves between seeds
   is the spread any difference between two settings must beat.
6. `PRECISION = "float32"`: on a CPU with bfloat16 units, how much longer an epoch takes and
   whether accuracy stays the same; on one without, `auto` is float32 already."""),
]


def cells(executed: str) -> list:
    made = []
    for kind, text in CELLS:
        if kind == "md":
            text = text.replace("{executed}", executed)
            made.append(new_markdown_cell(text))
        else:
            made.append(new_code_cell(text))
    return made


def executed_words(run_dir: Path, command: str, note_ko: str = "", note_en: str = "") -> str:
    """The first cell's record of the execution, from the run folder's files."""
    config = json.loads((run_dir / "config.json").read_text())
    metrics = json.loads((run_dir / "metrics.json").read_text())
    lines = (run_dir / "history.csv").read_text().splitlines()
    header = lines[0].split(",")
    seconds = sum(float(line.split(",")[header.index("epoch_seconds")]) for line in lines[1:])
    details = config.get("machine_details", {})
    units = ("AMX" if details.get("amx_bf16") else "AVX512-BF16"
             if details.get("avx512_bf16") else None)
    precision = config.get("precision_used", config.get("precision"))
    cpu = config["machine"].replace(", 2 cores", "")
    if details.get("gpu"):
        where_ko, where_en = config["machine"], config["machine"]
    else:
        where_ko = f"{cpu}({units or 'bfloat16 연산 장치 없음'}) 2코어 CPU"
        where_en = f"{config['machine']} ({units or 'no bfloat16 units'})"
    ko = (f"이 노트북은 `{command}` 명령으로 {where_ko}에서 처음부터 끝까지 실행했다. "
          f"정밀도는 {precision}이고, 전체 데이터셋에서 {len(lines) - 1} 에포크를 학습하는 데 "
          f"{seconds / 60:.1f}분이 걸렸다. 가장 좋은 체크포인트는 검증 이미지 "
          f"{metrics['examples']:,}장에서 Top-1 정확도 **{metrics['top1']:.1%}**(10-crop "
          f"{metrics['ten_crop']['top1']:.1%}), Top-5 정확도 {metrics['top5']:.1%}를 냈다"
          f"(`results/{run_dir.name}`).")
    en = (f"This copy was executed from start to end by `{command}` on {where_en}, in "
          f"{precision}, on the full dataset: {len(lines) - 1} epochs, {seconds / 60:.1f} "
          f"minutes of training; best checkpoint **{metrics['top1']:.1%} top-1** "
          f"({metrics['ten_crop']['top1']:.1%} with ten crops), {metrics['top5']:.1%} top-5 "
          f"on {metrics['examples']:,} validation images.")
    return (" ".join(part for part in (ko, note_ko) if part) + "\n\n"
            + " ".join(part for part in (en, note_en) if part))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--text-only", metavar="RUN_DIR",
                        help="update the Markdown cells of the executed notebook only, the "
                             "first from RUN_DIR's files")
    parser.add_argument("--command", default="jupyter nbconvert --execute AlexNet.ipynb",
                        help="the command that executed it, for the first cell")
    parser.add_argument("--note-ko", default="", help="a sentence on the execution (Korean)")
    parser.add_argument("--note-en", default="", help="the same sentence in English")
    args = parser.parse_args()
    path = PROJECT / "AlexNet.ipynb"
    if args.text_only:
        made = cells(EXECUTED.format(when=executed_words(
            Path(args.text_only), args.command, args.note_ko, args.note_en)))
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
        notebook.metadata["language_info"] = {"name": "python", "file_extension": ".py"}
    nbformat.write(notebook, path)
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
