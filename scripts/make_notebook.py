"""Writes AlexNet.ipynb from the cells below (the notebook's source of truth).

Run `python scripts/make_notebook.py`, then execute it in place:
`jupyter nbconvert --to notebook --execute --inplace AlexNet.ipynb`.
"""

import argparse
from pathlib import Path

import nbformat
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

CELLS = [
    ("md", """# AlexNet in Keras 3

A faithful re-implementation of **AlexNet** (Krizhevsky, Sutskever and Hinton,
*ImageNet Classification with Deep Convolutional Neural Networks*, NIPS 2012) and
its training, step by step: the data and its augmentation, the network, SGD with
checkpoints and early stopping, Top-1/Top-5 evaluation, and plots.

Everything this notebook calls lives in the `alexnet/` package; the same blocks
drive the command line (`python -m alexnet train ...`) for long runs. The
companion document `AlexNet.pdf` explains the architecture and our results.

**How this copy was executed.** The outputs below come from running this
notebook on a 2-core CPU (no GPU) with the parameters of the next cell set small, so
the live training is a demonstration, not a result:
`ALEXNET_DATA=../shared/datasets ALEXNET_NB_EPOCHS=3 ALEXNET_NB_LIMIT=30
ALEXNET_NB_IMAGE_SIZE=128 ALEXNET_NB_BATCH_SIZE=32 jupyter nbconvert --to notebook
--execute --inplace AlexNet.ipynb` (30 images per class, 3 epochs, 128 px).
The reported results (section 6) were trained on an H100 with
`bash scripts/gpu_imagenette.sh` or on the same 2-core CPU with `python -m alexnet
train --recipe modern`, and are read from `results/`."""),
    ("code", """# Parameters: environment variables override them (CI runs the notebook tiny).
import os

import alexnet  # noqa: F401  before Keras loads TensorFlow: turns on its fast oneDNN CPU kernels

DATA = os.environ.get("ALEXNET_NB_DATA", "imagenette")        # a folder or a dataset name
VARIANT = os.environ.get("ALEXNET_NB_VARIANT", "bn")           # paper | owt | bn
EPOCHS = int(os.environ.get("ALEXNET_NB_EPOCHS", "30"))
IMAGE_SIZE = int(os.environ.get("ALEXNET_NB_IMAGE_SIZE", "224"))
LIMIT = int(os.environ.get("ALEXNET_NB_LIMIT", "0")) or None   # images per class; 0 = all
BATCH_SIZE = int(os.environ.get("ALEXNET_NB_BATCH_SIZE", "64"))
VAL_DIR = os.environ.get("ALEXNET_NB_VAL_DIR") or None         # None: val/, validation/ or test/
VALIDATION_SPLIT = float(os.environ.get("ALEXNET_NB_VALIDATION_SPLIT", "0")) or None  # of train/
print(dict(DATA=DATA, VARIANT=VARIANT, EPOCHS=EPOCHS, IMAGE_SIZE=IMAGE_SIZE, LIMIT=LIMIT,
           BATCH_SIZE=BATCH_SIZE, VAL_DIR=VAL_DIR, VALIDATION_SPLIT=VALIDATION_SPLIT))"""),
    ("code", """%matplotlib inline
%config InlineBackend.figure_formats = ["png"]
import json
from pathlib import Path

import keras
import matplotlib.pyplot as plt

from alexnet import data, evaluate, model, plots, tfdata, train
from alexnet.config import TrainConfig, resume_config

keras.utils.set_random_seed(0)
plt.rcParams["figure.dpi"] = 50  # keeps the committed notebook small
print("Keras", keras.__version__, "on", keras.backend.backend())"""),
    ("md", """## 1. Data

A dataset is a folder with `train/<class>/*` and held-out images in `val/<class>/*`
(or `validation/`, `test/`, or the folder `VAL_DIR` names; with `train/` alone,
`VALIDATION_SPLIT` holds out a seeded fraction of each class). `data.locate`
looks for it in this order: an explicit path; `$ALEXNET_DATA/<name>`; `data/<name>`;
and, failing all, downloads the official Imagenette archive (10 ImageNet classes)
and checks its md5. Class order is the sorted folder names and is saved with every run."""),
    ("code", """root = data.locate(DATA)
train_split, val_split = data.load(root, limit=LIMIT, val_dir=VAL_DIR,
                                   validation_split=VALIDATION_SPLIT)
class_names = train_split.class_names
print(f"{root}: {len(train_split)} training and {len(val_split)} validation images")
print(dict(zip(class_names, data.display_names(class_names), strict=True)))"""),
    ("md", """### Augmentation

The paper fights overfitting first with data augmentation: each training image is
resized so its shorter side is 256 (for 224 crops), then a random 224x224 crop is
taken and flipped horizontally with probability 1/2. Evaluation takes the centre
crop. Both normalise each channel with ImageNet's mean and standard deviation.
The augmentations and their constants live in `alexnet/augmentation.py`; for files
they run inside the `tf.data` graph (`alexnet/tfdata.py`)."""),
    ("code", """images, labels = tfdata.examples(train_split, IMAGE_SIZE, 8, training=True)
plots.samples(images, labels, class_names);"""),
    ("md", """The training augmentations on one image: `basic`
(the crop and flip above), `paper` (plus the paper's PCA colour augmentation: add
multiples of the principal components of ImageNet's RGB pixels, with magnitudes drawn
once per image from N(0, 0.1)), `rrc`, the modern random-resized crop, and `none`, the
evaluation crop (for the no-augmentation ablation); three draws each. The last
row shows the paper's ten test crops (four corners and the centre, each mirrored),
whose averaged softmax gives the 10-crop figures."""),
    ("code", """plots.augmentations(train_split.files[0], IMAGE_SIZE, columns=3);"""),
    ("md", """## 2. The network

Five convolutional layers and three fully connected ones, 60,965,224 parameters for
1000 classes. The paper's details, all in `alexnet/model.py`:

- **ReLU** after every layer (six times faster to train than tanh, Figure 1).
- **Two towers**: conv2, conv4 and conv5 only see the channels of their own GPU
  (`groups=2`); conv3 and the FC layers connect across.
- **Local response normalisation** after the ReLUs of conv1 and conv2:
  $b^i = a^i / (k + \\alpha \\sum_{j} (a^j)^2)^\\beta$ over 5 adjacent channels, k=2,
  alpha=1e-4, beta=0.75.
- **Overlapping max-pooling**: 3x3 windows with stride 2.
- **Dropout** 0.5 in the first two FC layers.

The paper says the input is 224x224, but then conv1 (11x11, stride 4) would give
(224 - 11)/4 + 1 = 54.25 positions, not the 55x55 of its Figure 2. With 227x227
it is exactly 55, so the `paper` variant takes 227."""),
    ("code", """paper = model.build("paper", num_classes=1000)
paper.summary(line_length=90)"""),
    ("code", """# NBVAL_CHECK_OUTPUT
print(f"parameters: {paper.count_params():,}; "
      f"multiply-accumulates per image: {model.count_macs(paper) / 1e9:.3f} G")"""),
    ("md", """Besides the paper's net, `model.py` has torchvision's single-tower
"one weird trick" layout (`owt`, into which torchvision's ImageNet weights port with
`python -m alexnet port`) and `bn`, the same with BatchNorm after every convolution
and hidden FC layer, which trains reliably from scratch on a small dataset. We train
`bn` here. Side by side (1000 classes):"""),
    ("code", """# NBVAL_CHECK_OUTPUT
from IPython.display import Markdown  # noqa: E402

Markdown(model.comparison_table(model.compare_variants()))"""),
    ("md", """## 3. Training

The paper's optimiser: SGD with momentum 0.9 and weight decay 5e-4, learning rate
0.01 divided by 10 when the validation loss stops improving. `PaperSGD` follows the
paper's update rule, where the decay is part of the gradient and so is carried by the
momentum (Keras' own `weight_decay` is not, and is ten times weaker for the same number).
Keras callbacks do the bookkeeping: a best-model checkpoint (Keras' `ModelCheckpoint`,
written atomically) keeps the best model by validation accuracy as `best.keras`,
`EarlyStopping` stops when it no longer improves and restores the best weights,
`ReduceLROnPlateau` lowers the learning rate, and the resume state writes `history.csv`
(one row per epoch, as Keras' `CSVLogger` would). Everything of a run goes into its run folder."""),
    ("md", """The notebook walks the same three stages as `python -m alexnet train`: `train.prepare`
makes the run folder (a new one each time: `checkpoints/<variant>-<size>px-<time>/`),
the inputs, the compiled model and the callbacks; `train.fit` trains; `train.finish`
evaluates. The run survives interruptions: every epoch commits its state (weights,
optimizer, callback counters) to `state/` in the run folder; to continue a run, set
`RESUME` to its folder (the command line: `python -m alexnet train --resume RUN_DIR`)."""),
    ("code", """RESUME = os.environ.get("ALEXNET_NB_RESUME")  # a run folder to continue, or None
if RESUME:
    config = resume_config(Path(RESUME), epochs=EPOCHS)
else:
    config = TrainConfig(data=str(root), variant=VARIANT, epochs=EPOCHS,
                         image_size=IMAGE_SIZE, batch_size=BATCH_SIZE, limit=LIMIT,
                         val_dir=VAL_DIR, validation_split=VALIDATION_SPLIT)
run = train.prepare(config, resume_run=bool(RESUME))
run_dir = run.run_dir
print(run_dir)
print(run.model.optimizer.__class__.__name__, run.model.optimizer.get_config()["momentum"])
print([type(callback).__name__ for callback in run.callbacks])"""),
    ("code", """history = train.fit(run, verbose=2)  # a line an epoch"""),
    ("md", """## 4. Evaluation: Top-1 and Top-5 error

The paper reports the *error* rates: Top-1 (the most probable class is wrong) and
Top-5 (the true class is not among the five most probable). We evaluate the best
checkpoint on the validation split with the centre crop, and with the paper's ten crops
(four corners and the centre, each mirrored; the softmax averaged)."""),
    ("code", """metrics = train.finish(run)  # centre crop and 10-crop; metrics.json and plots
print(evaluate.summary(metrics))"""),
    ("md", """## 5. Plots

Loss and accuracy per epoch, the error rates, where the classes get confused, and
what the network predicts for a few validation images."""),
    ("code", """run_history = plots.read_history(run_dir / "history.csv")
plots.curves(run_history);"""),
    ("code", """plots.errors(run_history);"""),
    ("code", """plots.confusion(metrics);"""),
    ("code", """best = model.load(run_dir / "best.keras")
images, labels = run.inputs.examples(6, training=False)
plots.predictions(images, best.predict(images, verbose=0), labels, class_names);"""),
    ("md", """## 6. Reported results

The runs we report: trained on one NVIDIA H100 with `bash scripts/gpu_imagenette.sh`
(Keras 3 on JAX, bfloat16, Imagenette kept in memory at 128 px and augmented on the
GPU, up-sampled to 224 px crops), or on this project's 2-core CPU at 128 px
(`python -m alexnet train --recipe modern --image-size 128 ...`). Their small files are
in `results/`: anyone can redraw these plots without training."""),
    ("code", """for folder in sorted(Path("results").glob("*/")):
    if not (folder / "metrics.json").is_file():
        continue
    reported = json.loads((folder / "metrics.json").read_text())
    settings = json.loads((folder / "config.json").read_text())
    # runs recorded before PaperSGD (no "optimizer") used Keras' decoupled decay
    rule = "" if settings.get("optimizer") else " decoupled"
    print(f"{folder.name}: variant {settings['variant']}, {settings['image_size']} px, "
          f"lr {settings['lr']}, weight decay {settings['weight_decay']:g}{rule}, "
          f"{settings['augmentation']} augmentation, "
          f"{settings.get('machine', '?')}: centre crop top-1 {reported['top1']:.1%}, "
          f"top-5 {reported['top5']:.1%}; 10-crop top-1 {reported['ten_crop']['top1']:.1%}")"""),
    ("code", """reported_history = Path("results/imagenette-modern/history.csv")
plots.curves(plots.read_history(reported_history));"""),
]


def main() -> None:
    argparse.ArgumentParser(description=__doc__.split("\n")[0]).parse_args()
    notebook = new_notebook()
    notebook.cells = [new_markdown_cell(text) if kind == "md" else new_code_cell(text)
                      for kind, text in CELLS]
    notebook.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3",
                                       "language": "python"}
    path = Path(__file__).resolve().parent.parent / "AlexNet.ipynb"
    nbformat.write(notebook, path)
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
