"""ImageNet's (ILSVRC-2012's) label files, and readable class names.

A flat ``val/`` (no class folders) is labelled by a label file: the Kaggle archive's
``LOC_val_solution.csv`` (class words in ``LOC_synset_mapping.txt``), or the official
devkit's ``ILSVRC2012_validation_ground_truth.txt`` with ``meta.mat``. datasets.py finds
the folders (the Kaggle archive's deep one too) and asks here only for a flat split or for
class words (loading this module then), so Imagenette's folders never read a label file.
"""

from __future__ import annotations

from pathlib import Path

# ILSVRC-2012 label files, searched for in the dataset root, the split folder and the
# devkit's data/ folder. Kaggle: LOC_synset_mapping.txt ("<wnid> <words>" per line, in
# class order) and LOC_val_solution.csv ("ImageId,PredictionString" with the wnid first).
# Devkit: ILSVRC2012_validation_ground_truth.txt (one ILSVRC id per line, in file order)
# with meta.mat, which maps ILSVRC ids to wnids.
SYNSET_MAPPING = "LOC_synset_mapping.txt"
VAL_SOLUTION = "LOC_val_solution.csv"
DEVKIT_GROUND_TRUTH = "ILSVRC2012_validation_ground_truth.txt"
DEVKIT_META = "meta.mat"
LABEL_FILES = f"{VAL_SOLUTION} (Kaggle) or {DEVKIT_GROUND_TRUTH} with {DEVKIT_META} (devkit)"


def find_label_file(root: Path, name: str, folder: Path) -> Path | None:
    """The label file ``name`` in the dataset ``root``, the split's ``folder`` or the
    devkit's data/ folder; None where it is in none of them."""
    root = Path(root)
    for place in (root, Path(folder), root / "ILSVRC2012_devkit_t12" / "data",
                  root / "devkit" / "data"):
        if (place / name).is_file():
            return place / name
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


def descriptions(root: Path, images: Path) -> dict[str, str]:
    """Class words by wnid from the Kaggle mapping or the devkit, when either is there
    (``images``: the folder that holds train/ and val/)."""
    mapping = find_label_file(root, SYNSET_MAPPING, Path(images) / "val")
    if mapping:
        return read_synset_mapping(mapping)
    meta = find_label_file(root, DEVKIT_META, Path(images) / "val")
    return dict(read_devkit_meta(meta).values()) if meta else {}


def flat_labels(root: Path, folder: Path) -> dict[str, str] | None:
    """{image file stem: wnid} for the flat split ``folder`` (its name: the split's), from
    the Kaggle solution CSV or the devkit ground truth; None when neither is there."""
    solution = find_label_file(root, VAL_SOLUTION, folder)
    if solution:
        labels = {}
        lines = solution.read_text().splitlines()
        for number, line in enumerate(lines[1:], 2):
            image_id, _, prediction = line.partition(",")
            if not prediction.strip():
                raise ValueError(f"{solution}, line {number}: no label for {image_id!r}")
            labels[image_id.strip()] = prediction.split()[0]
        return labels
    truth = find_label_file(root, DEVKIT_GROUND_TRUTH, folder)
    meta = find_label_file(root, DEVKIT_META, folder)
    if not (truth and meta):
        return None
    wnids = {ilsvrc_id: wnid for ilsvrc_id, (wnid, _) in read_devkit_meta(meta).items()}
    labels = {}
    for number, line in enumerate(truth.read_text().split(), 1):
        if int(line) not in wnids:
            raise ValueError(f"{truth}, line {number}: ILSVRC id {line} not in {meta}")
        labels[f"ILSVRC2012_{Path(folder).name}_{number:08d}"] = wnids[int(line)]
    return labels


def flat_classes(root: Path, folder: Path, images: list[Path],
                 class_names: list[str] | None) -> tuple[list[str], list[list[Path]]] | None:
    """The ``images`` of the flat split ``folder`` by class, labelled by the label file:
    (class names, each class's images), the classes ``class_names`` or the wnids found,
    sorted. None when there is no label file; an image without a label, or with a class
    outside ``class_names``, is named in a ValueError."""
    by_stem = flat_labels(root, folder)
    if by_stem is None:
        return None
    unlabelled = [f.name for f in images if f.stem not in by_stem]
    if unlabelled:
        raise ValueError(f"{folder}: {len(unlabelled)} image(s) have no label in the "
                         f"label file, e.g. {unlabelled[0]}")
    wnids = [by_stem[f.stem] for f in images]
    class_names = class_names or sorted(set(wnids))
    unknown = sorted(set(wnids) - set(class_names))
    if unknown:
        raise ValueError(f"{folder}: labels {unknown[:5]} are not among the "
                         f"{len(class_names)} training classes")
    return class_names, [[f for f, w in zip(images, wnids, strict=True) if w == name]
                         for name in class_names]
