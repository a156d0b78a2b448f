"""ILSVRC-2012 layouts: where the images are and the label files of a flat ``val/``.

The Kaggle archive keeps ``train/`` and ``val/`` under ``ILSVRC/Data/CLS-LOC/``; its
``val/`` is flat, labelled by ``LOC_val_solution.csv``, with class words in
``LOC_synset_mapping.txt``. The official devkit labels a flat ``val/`` with
``ILSVRC2012_validation_ground_truth.txt`` and ``meta.mat``. No TensorFlow here.
"""

from __future__ import annotations

from pathlib import Path


class DatasetNotFoundError(FileNotFoundError):
    """No dataset where we looked, and it could not be downloaded."""


# ILSVRC-2012 label files, searched for in the dataset root, the split folder and the
# devkit's data/ folder. Kaggle: LOC_synset_mapping.txt ("<wnid> <words>" per line, in
# class order) and LOC_val_solution.csv ("ImageId,PredictionString" with the wnid first).
# Devkit: ILSVRC2012_validation_ground_truth.txt (one ILSVRC id per line, in file order)
# with meta.mat, which maps ILSVRC ids to wnids.
SYNSET_MAPPING = "LOC_synset_mapping.txt"
VAL_SOLUTION = "LOC_val_solution.csv"
DEVKIT_GROUND_TRUTH = "ILSVRC2012_validation_ground_truth.txt"
DEVKIT_META = "meta.mat"
KAGGLE_IMAGES = Path("ILSVRC", "Data", "CLS-LOC")


def image_root(root: Path) -> Path:
    """Where ``train/`` and ``val/`` are: ``root``, or the Kaggle archive's deep folder."""
    root = Path(root)
    return root / KAGGLE_IMAGES if (root / KAGGLE_IMAGES).is_dir() else root


def find_label_file(root: Path, name: str, split: str = "val") -> Path | None:
    root = Path(root)
    for folder in (root, image_root(root) / split, root / "ILSVRC2012_devkit_t12" / "data",
                   root / "devkit" / "data"):
        if (folder / name).is_file():
            return folder / name
    return None


def read_synset_mapping(path: Path) -> dict[str, str]:
    """``LOC_synset_mapping.txt`` as {wnid: words}, in file (= class) order."""
    mapping = {}
    for number, line in enumerate(Path(path).read_text().splitlines(), 1):
        if line.strip():
            wnid, _, words = line.strip().partition(" ")
            if not wnid.startswith("n"):
                raise ValueError(f"{path}, line {number}: expected '<wnid> <words>', got {line!r}")
            mapping[wnid] = words.strip()
    return mapping


def read_devkit_meta(path: Path) -> dict[int, tuple[str, str]]:
    """The devkit's ``meta.mat`` as {ILSVRC id: (wnid, words)} for the 1000 leaf classes."""
    from scipy.io import loadmat  # here: only the devkit's layout needs SciPy (1 s to load)

    synsets = loadmat(str(path), squeeze_me=True)["synsets"]
    return {int(s["ILSVRC2012_ID"]): (str(s["WNID"]), str(s["words"]))
            for s in synsets if int(s["num_children"]) == 0}


def descriptions(root: Path) -> dict[str, str]:
    """Class words by wnid from the Kaggle mapping or the devkit, when either is there."""
    mapping = find_label_file(root, SYNSET_MAPPING)
    if mapping:
        return read_synset_mapping(mapping)
    meta = find_label_file(root, DEVKIT_META)
    return dict(read_devkit_meta(meta).values()) if meta else {}


def flat_labels(root: Path, split: str) -> dict[str, str]:
    """{image file stem: wnid} for a flat split folder, from the Kaggle solution CSV or
    the devkit ground truth; raises naming what is missing when neither is there."""
    solution = find_label_file(root, VAL_SOLUTION, split)
    if solution:
        labels = {}
        lines = solution.read_text().splitlines()
        for number, line in enumerate(lines[1:], 2):
            image_id, _, prediction = line.partition(",")
            if not prediction.strip():
                raise ValueError(f"{solution}, line {number}: no label for {image_id!r}")
            labels[image_id.strip()] = prediction.split()[0]
        return labels
    truth = find_label_file(root, DEVKIT_GROUND_TRUTH, split)
    meta = find_label_file(root, DEVKIT_META, split)
    if truth and meta:
        wnids = {ilsvrc_id: wnid for ilsvrc_id, (wnid, _) in read_devkit_meta(meta).items()}
        labels = {}
        for number, line in enumerate(truth.read_text().split(), 1):
            if int(line) not in wnids:
                raise ValueError(f"{truth}, line {number}: ILSVRC id {line} not in {meta}")
            labels[f"ILSVRC2012_{split}_{number:08d}"] = wnids[int(line)]
        return labels
    raise DatasetNotFoundError(
        f"{image_root(root) / split}: images without class folders need labels: "
        f"{VAL_SOLUTION} (Kaggle) or {DEVKIT_GROUND_TRUTH} with {DEVKIT_META} (devkit) "
        f"in {root}")


# Readable names of the wnids we ship data for (Imagenette's ten).
IMAGENETTE_NAMES = {
    "n01440764": "tench", "n02102040": "English springer", "n02979186": "cassette player",
    "n03000684": "chain saw", "n03028079": "church", "n03394916": "French horn",
    "n03417042": "garbage truck", "n03425413": "gas pump", "n03445777": "golf ball",
    "n03888257": "parachute",
}


def display_names(class_names: list[str],
                  descriptions: dict[str, str] | None = None) -> list[str]:
    """Readable names: the dataset's ``descriptions`` (first of the comma-separated
    words), then wnids we know; other names stay as they are."""
    words = {**IMAGENETTE_NAMES, **{k: v.split(",")[0] for k, v in (descriptions or {}).items()}}
    return [words.get(name, name) for name in class_names]
