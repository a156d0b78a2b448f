"""Writes AlexNet.ipynb from the cells below (the notebook's source of truth).

Run `python scripts/make_notebook.py`, then execute it in place:
`jupyter nbconvert --to notebook --execute --inplace AlexNet.ipynb`.
`--text-only` rewrites only the Markdown cells of the executed notebook, keeping its code
and outputs (for prose edits after a long run); it refuses if any code cell differs.
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

Every step is Keras code in these cells; the heavy machinery (input pipelines, the
layers Keras lacks, crash-safe resume, 10-crop evaluation) comes from the `alexnet/`
package, whose training stages the command line (`python -m alexnet train`) walks too.
The companion document `AlexNet.pdf` explains the architecture and our results.

**How this copy was executed.** Top to bottom, on the full Imagenette (9,469 training
and 3,925 validation images), on a 2-core Intel Xeon CPU without a GPU, with the default
`modern` recipe sized for that CPU (128 px crops, 20 epochs):

```bash
ALEXNET_DATA=../shared/datasets ALEXNET_NB_IMAGE_SIZE=128 ALEXNET_NB_EPOCHS=20 \\
    jupyter nbconvert --to notebook --execute --inplace AlexNet.ipynb
```

On 2026-12-02 the notebook ran 51 minutes, of which training 45.6 (epochs of 95 to 197 s,
nothing else training beside it). The best model: **73.2 % top-1** (74.0 % with the
paper's ten crops) and 96.8 % top-5 on all 3,925 validation images; the same recipe's other
runs on this CPU reached 75.0-75.1 % (`results/`; seed-to-seed spread not measured).
With no parameter set, the notebook trains the recipe as measured on a GPU (224 px, 80
epochs); its time estimate (section 3) says what that costs on your machine. CI runs it
tiny under nbval (3 images per class, one epoch, 64 px) and checks the cells marked
`NBVAL_CHECK_OUTPUT`."""),
    ("code", """# Parameters: environment variables override them (CI runs the notebook tiny).
import os

import alexnet  # noqa: F401  before Keras loads TensorFlow: turns on its fast oneDNN CPU kernels

RECIPE = os.environ.get("ALEXNET_NB_RECIPE", "modern")    # modern (our best) | paper
DATA = os.environ.get("ALEXNET_NB_DATA", "imagenette")     # a folder or a dataset name
EPOCHS = int(os.environ.get("ALEXNET_NB_EPOCHS", "0")) or None          # None: the recipe's
IMAGE_SIZE = int(os.environ.get("ALEXNET_NB_IMAGE_SIZE", "0")) or None  # None: 224 (paper 227)
BATCH_SIZE = int(os.environ.get("ALEXNET_NB_BATCH_SIZE", "0")) or None  # None: the recipe's
LIMIT = int(os.environ.get("ALEXNET_NB_LIMIT", "0")) or None   # images per class; None: all
VAL_DIR = os.environ.get("ALEXNET_NB_VAL_DIR") or None         # None: val/, validation/ or test/
VALIDATION_SPLIT = float(os.environ.get("ALEXNET_NB_VALIDATION_SPLIT", "0")) or None  # of train/
RESUME = os.environ.get("ALEXNET_NB_RESUME") or None  # a run folder to continue, or a new one"""),
    ("code", """%matplotlib inline
%config InlineBackend.figure_formats = ["png"]
import inspect
import math
import time
from pathlib import Path

import keras
import matplotlib.pyplot as plt
from IPython.display import Markdown

from alexnet import data, estimate, evaluate, evidence, model, plots, tfdata, train
from alexnet.callbacks import BestCheckpoint
from alexnet.config import from_recipe, resume_config
from alexnet.optimizer import PaperSGD

keras.utils.set_random_seed(0)
plt.rcParams["figure.dpi"] = 80
print("Keras", keras.__version__, "on", keras.backend.backend())"""),
    ("md", """## 0. The recipe

Two recipes are measured (`alexnet/config.py`): `modern`, what a practitioner would use
today for AlexNet from scratch (BatchNorm, random-resized crops, label smoothing,
warm-up then cosine decay; 84.8 % top-1 on Imagenette on a GPU, 75 % on a CPU at 128 px),
and `paper`, the 2012 recipe (the paper's network with LRN and two towers, SGD 0.01,
the learning rate divided by 10 when validation stalls, crops, flips and PCA lighting).
The parameters above override the recipe's settings. Each execution writes a new run
folder; set `RESUME` to a run folder to continue that run instead."""),
    ("code", """root = data.locate(DATA)
if RESUME:
    config = resume_config(Path(RESUME), **({"epochs": EPOCHS} if EPOCHS else {}))
else:
    config = from_recipe(RECIPE, data=str(root), epochs=EPOCHS, image_size=IMAGE_SIZE,
                         batch_size=BATCH_SIZE, limit=LIMIT, val_dir=VAL_DIR,
                         validation_split=VALIDATION_SPLIT,
                         out=f"checkpoints/notebook-{RECIPE}-{time.strftime('%Y%m%d-%H%M%S')}")
run_dir = Path(config.out)
print(f"recipe {config.recipe}: variant {config.variant}, {config.image_size} px, "
      f"{config.epochs} epochs, batch {config.batch_size}, lr {config.lr} ({config.schedule}), "
      f"{config.augmentation} augmentation; run folder {run_dir}")"""),
    ("md", """## 1. Data

A dataset is a folder with `train/<class>/*` and held-out images in `val/<class>/*`
(or `validation/`, `test/`, or the folder `VAL_DIR` names; with `train/` alone,
`VALIDATION_SPLIT` holds out a seeded fraction of each class). `data.locate`
looks for it in this order: an explicit path; `$ALEXNET_DATA/<name>`; `data/<name>`;
and, failing all, downloads the official Imagenette archive (10 ImageNet classes)
and checks its md5. Class order is the sorted folder names and is saved with every run."""),
    ("code", """train_split, val_split = data.load(root, limit=config.limit, val_dir=config.val_dir,
                                   validation_split=config.validation_split)
class_names = train_split.class_names
names = data.display_names(class_names, train_split.descriptions)
more = ", ..." if len(names) > 10 else ""  # ImageNet: the first ten of 1000
print(f"{root}: {len(train_split)} training and {len(val_split)} validation images "
      f"of {len(class_names)} classes ({', '.join(names[:10])}{more})")"""),
    ("md", """### Augmentation

The paper fights overfitting first with data augmentation: each training image is
resized so its shorter side is 256 (for 224 crops), then a random 224x224 crop is
taken and flipped horizontally with probability 1/2 (`basic`); the paper adds a PCA
colour shift (`paper`). The `modern` recipe takes *random-resized crops* (`rrc`): a
window of 25-100 % of the image's area and aspect ratio 3/4 to 4/3, resized to the
crop size and flipped, so the network sees objects at many scales and positions.
Evaluation takes the centre crop. All normalise each channel with ImageNet's mean and
standard deviation. The augmentations and their constants live in
`alexnet/augmentation.py`; for files they run inside the `tf.data` graph
(`alexnet/tfdata.py`). Eight training images as the network sees them:"""),
    ("code", """images, labels = tfdata.examples(train_split, config.image_size, 8, training=True,
                                 augmentation=config.augmentation)
plots.samples(images, labels, class_names);"""),
    ("md", """One image under each augmentation, three draws each: `basic`, `paper` (plus
multiples of the principal components of ImageNet's RGB pixels, with magnitudes drawn
once per image from N(0, 0.1)), `rrc`, and `none`, the evaluation crop (for the
no-augmentation ablation). The last row shows the paper's ten test crops (four
corners and the centre, each mirrored), whose averaged softmax gives the 10-crop figures."""),
    ("code", """plots.augmentations(train_split.files[0], config.image_size, columns=3);"""),
    ("md", """## 2. The network

Five convolutional layers and three fully connected ones. The paper's details:

- **ReLU** after every layer (six times faster to train than tanh, Figure 1).
- **Two towers**: conv2, conv4 and conv5 only see the channels of their own GPU
  (`groups=2`); conv3 and the FC layers connect across.
- **Local response normalisation** after the ReLUs of conv1 and conv2:
  $b^i = a^i / (k + \\alpha \\sum_{j} (a^j)^2)^\\beta$ over 5 adjacent channels, k=2,
  alpha=1e-4, beta=0.75.
- **Overlapping max-pooling**: 3x3 windows with stride 2.
- **Dropout** 0.5 on the first two FC layers.

The whole definition is one function, `model.build`, printed here: `paper` is the 2012
network; `owt` is torchvision's single-tower "one weird trick" layout (into which
torchvision's ImageNet weights port with `python -m alexnet port`); `bn` is `owt` with
BatchNormalization after every convolution and hidden FC layer, which trains reliably
from scratch on a small dataset and is the `modern` recipe's network. (`TapwiseConv2D`
is Keras' `Conv2D` with a faster gradient on some CPUs; `FusedBatchNormalization` is
Keras' `BatchNormalization` trained with TensorFlow's one fused kernel. Both keep Keras'
names in weight files.)"""),
    ("code", """print(inspect.getsource(model.build))"""),
    ("md", """The network this notebook trains, layer by layer, for the dataset's classes and
the recipe's image size:"""),
    ("code", """net = model.build(config.variant, len(class_names), config.image_size,
                  init=config.init, dropout=config.dropout)
net.summary(line_length=100)"""),
    ("md", """The paper's network beside it, for ImageNet's 1000 classes at 227x227. The paper
says 224x224, but then conv1 (11x11, stride 4) would give (224 - 11)/4 + 1 = 54.25
positions, not the 55x55 of its Figure 2; with 227 it is exactly 55."""),
    ("code", """paper = model.build("paper", num_classes=1000)
paper.summary(line_length=100)"""),
    ("code", """# NBVAL_CHECK_OUTPUT
print(f"parameters: {paper.count_params():,}; "
      f"multiply-accumulates per image: {model.count_macs(paper) / 1e9:.3f} G")"""),
    ("md", """The three variants side by side (1000 classes):"""),
    ("code", """# NBVAL_CHECK_OUTPUT
Markdown(model.comparison_table(model.compare_variants()))"""),
    ("md", """## 3. Training

**The optimizer** is SGD with momentum and weight decay by the paper's update rule:
`PaperSGD`, a `keras.optimizers.SGD` in which the decay is part of the gradient and so
is carried by the momentum, as in the paper and in PyTorch (Keras' own `weight_decay`
acts outside the momentum and is ten times weaker for the same number at momentum 0.9).
Its learning rate follows the recipe: warm-up then `CosineDecay` (`modern`), or a
constant that `ReduceLROnPlateau` divides by 10 when the validation loss stalls (`paper`)."""),
    ("code", """steps_per_epoch = math.ceil(len(train_split) / config.batch_size)
schedule = train.learning_rate(config, steps_per_epoch)  # a Keras schedule, or a float
optimizer = PaperSGD(learning_rate=schedule, momentum=config.momentum,
                     weight_decay=config.weight_decay)
print(f"SGD: momentum {config.momentum}, weight decay {config.weight_decay:g}, "
      f"peak learning rate {config.lr}, {steps_per_epoch} steps an epoch")
plots.schedule(schedule, steps_per_epoch, config.epochs);"""),
    ("md", """**The callbacks.** `ModelCheckpoint` keeps the model with the best validation
accuracy as `best.keras` (`BestCheckpoint` is a `ModelCheckpoint(save_best_only=True)`
that writes to a temporary file and renames it, so a crash never leaves a torn file);
`EarlyStopping` stops when validation accuracy no longer improves and restores the best
weights; with the plateau schedule, `ReduceLROnPlateau` lowers the learning rate."""),
    ("code", """callbacks = [
    BestCheckpoint(run_dir / "best.keras", monitor="val_accuracy", mode="max"),
    keras.callbacks.EarlyStopping(monitor="val_accuracy", mode="max",
                                  patience=config.patience, restore_best_weights=True),
]
if config.schedule == "plateau":
    callbacks.append(keras.callbacks.ReduceLROnPlateau(monitor="val_loss", factor=0.1,
                                                       patience=config.lr_patience))"""),
    ("md", """`train.prepare` is the command line's first stage too: it writes the run folder and
its `config.json`, builds the input pipelines and the model, compiles it with this
optimizer, cross-entropy (with the recipe's label smoothing) and Top-1/Top-5 accuracy, and
adds to these callbacks the run's own: the time of each epoch, a stop at a non-finite
loss, TensorBoard logs, and the resume state, which after every epoch commits weights,
optimizer and callback counters to `state/` so that a killed run continues from its last
epoch (`RESUME` here, `--resume RUN_DIR` on the command line)."""),
    ("code", """run = train.prepare(config, resume_run=bool(RESUME), optimizer=optimizer,
                    callbacks=callbacks, command=f"AlexNet.ipynb (RECIPE={RECIPE!r})")
print(f"loss: {type(run.model.loss).__name__}(label_smoothing={config.label_smoothing}); "
      f"metrics: accuracy, top5_accuracy")
print("callbacks:", ", ".join(type(callback).__name__ for callback in run.callbacks))"""),
    ("md", """How long will it take? A few timed steps on this machine, through the real input
pipeline (the model is put back as it was):"""),
    ("code", """print(estimate.time_steps(run))"""),
    ("code", """history = run.model.fit(
    run.inputs.train_batches(seed=config.seed + run.first_epoch),
    validation_data=run.inputs.val_batches(), epochs=config.epochs,
    callbacks=run.callbacks, verbose=2,  # a line an epoch
    shuffle=False)  # the input pipeline shuffles every epoch itself"""),
    ("md", """## 4. Evaluation: Top-1 and Top-5 error

The paper reports *error* rates: Top-1 (the most probable class is wrong) and Top-5 (the
true class is not among the five most probable). Keras' `evaluate` gives the best
checkpoint's loss and accuracies on the validation images' centre crops; `train.finish`
adds the paper's ten crops (four corners and the centre, each mirrored; the softmax
averaged), checks that no top-5 is decided by tied outputs, and writes `metrics.json`
and the plots into the run folder. (Keras' loss is the training loss, with the recipe's label
smoothing; the loss in `metrics.json` is the plain cross-entropy.)"""),
    ("code", """best = model.load(run_dir / "best.keras")
scores = best.evaluate(run.inputs.val_batches(), return_dict=True, verbose=0)
print({name: round(value, 4) for name, value in scores.items()})"""),
    ("code", """metrics = train.finish(run)
print(evaluate.summary(metrics))"""),
    ("md", """## 5. Plots

Loss and accuracy per epoch, the error rates, where the classes get confused, the
accuracy of each class, and what the network predicts for a few validation images.
With ImageNet's 1000 classes the confusion matrix keeps the most-confused classes and
the bars the best and worst ones."""),
    ("code", """run_history = plots.read_history(run_dir / "history.csv")
plots.curves(run_history);"""),
    ("code", """plots.errors(run_history);"""),
    ("code", """plots.confusion(metrics);"""),
    ("code", """plots.per_class(metrics);"""),
    ("code", """images, labels = run.inputs.examples(6, training=False)
plots.predictions(images, model.unwrap(best).predict(images, verbose=0), labels, class_names);"""),
    ("md", """## 6. ImageNet

The same cells train on ILSVRC-2012: set `DATA` to its folder. Accepted as they come:
class folders `train/<wnid>/*.JPEG` and `val/<wnid>/*.JPEG` (also under Kaggle's
`ILSVRC/Data/CLS-LOC/`), a flat `val/` labelled by Kaggle's `LOC_val_solution.csv` or by
the devkit's ground truth. For speed, convert it once to TFRecord shards (decoded and
checked, resized to a shorter side of 256) and point `DATA` at those:

```bash
python -m alexnet prepare /data/ILSVRC2012 /data/ilsvrc-shards
```

Then set `RECIPE = "modern"` (or `"paper"`), `IMAGE_SIZE = None` (224; 227 for the paper's
network), `EPOCHS = 90` as the paper, and train on a GPU; the command line does the same
(`python -m alexnet train --data /data/ilsvrc-shards --epochs 90`, with `--strategy
mirrored` for all local GPUs). Details and time projections: `docs/imagenet.md` and
`AlexNet.pdf`."""),
    ("md", """## 7. Reported results

Every run we report, with its settings, machine and command; their small files are in
`results/`, so anyone can redraw their plots without training. This notebook's run is the
last row."""),
    ("code", """Markdown(evidence.results_table(
    [*sorted(path.parent for path in Path("results").glob("*/metrics.json")), run_dir]))"""),
    ("code", """reported = plots.read_history(Path("results/imagenette-modern/history.csv"))
plots.curves(reported);  # the modern recipe on an H100: 80 epochs at 224 px"""),
]

def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--text-only", action="store_true",
                        help="update the Markdown cells of the executed notebook only")
    args = parser.parse_args()
    path = Path(__file__).resolve().parent.parent / "AlexNet.ipynb"
    cells = [new_markdown_cell(text) if kind == "md" else new_code_cell(text)
             for kind, text in CELLS]
    if args.text_only:
        notebook = nbformat.read(path, as_version=4)
        old = [(c.cell_type, c.source) for c in notebook.cells if c.cell_type == "code"]
        if old != [(c.cell_type, c.source) for c in cells if c.cell_type == "code"]:
            raise SystemExit(f"{path}: its code cells differ from these; execute it anew")
        if [c.cell_type for c in notebook.cells] != [c.cell_type for c in cells]:
            raise SystemExit(f"{path}: its cells are laid out differently; execute it anew")
        for executed, cell in zip(notebook.cells, cells, strict=True):
            if cell.cell_type == "markdown":
                executed.source = cell.source
    else:
        notebook = new_notebook()
        notebook.cells = cells
        notebook.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3",
                                           "language": "python"}
    nbformat.write(notebook, path)
    print(f"wrote {path}")

if __name__ == "__main__":
    main()
