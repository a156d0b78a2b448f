"""Do a BatchNorm model's moving statistics fit its weights? Validation accuracy with them
and with each batch's own statistics, and how far each layer's moving mean is off.

    python scripts/bn_statistics.py checkpoints/RUN --data ../shared/datasets/imagenette

Reads the run's latest ``--resume`` state (else ``best.keras``) and ``--limit`` validation
images per class, shuffled into batches of ``--batch-size``. Far apart accuracies mean the
moving averages lag the weights (too slow a BatchNorm momentum for the steps per epoch).
"""

from __future__ import annotations

import argparse
from pathlib import Path

import alexnet  # noqa: F401  light; first, so that TensorFlow loads as it sets up


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("run_dir", type=Path)
    parser.add_argument("--data", default="imagenette")
    parser.add_argument("--limit", type=int, default=40, help="validation images per class")
    parser.add_argument("--batch-size", type=int, default=200)
    args = parser.parse_args(argv)
    # After parsing, so that --help answers without loading Keras and TensorFlow.
    import keras
    import numpy as np

    from alexnet.data import batches as make
    from alexnet.data.datasets import Dataset, locate
    from alexnet.harness import resume, runfolder

    net = runfolder.load_model(args.run_dir / "best.keras")
    state = resume.read_state(args.run_dir)
    if state is not None:
        net.load_weights(args.run_dir / resume.STATE_DIR / state["weights"])
        print(f"{args.run_dir}: its state after {state['epoch']} epochs")
    size = net.input_shape[1]
    _, val = Dataset.open(locate(args.data)).splits(limit=args.limit)
    batches = [(x.numpy(), y.numpy()) for x, y in make.evaluation(val, 256, size)]
    images = np.concatenate([x for x, _ in batches])
    labels = np.concatenate([np.argmax(y, axis=1) for _, y in batches])
    order = np.random.default_rng(0).permutation(len(images))  # val/ lists class by class
    images, labels = images[order], labels[order]
    step = args.batch_size
    result = {}
    for name, training in (("moving statistics", False), ("batch statistics", True)):
        predicted = np.concatenate([np.argmax(net(images[i:i + step], training=training), 1)
                                    for i in range(0, len(images), step)])
        result[name] = float(np.mean(predicted == labels))
        print(f"validation accuracy with {name}: {result[name]:.1%} ({len(labels)} images)")
    norms = [layer for layer in net.layers if isinstance(layer, keras.layers.BatchNormalization)]
    inputs = keras.Model(net.inputs, [layer.input for layer in norms])([images[:step]])
    for layer, x in zip(norms, inputs, strict=True):
        x = np.asarray(x)
        axes = tuple(range(x.ndim - 1))
        std = np.sqrt(np.asarray(layer.moving_variance) + layer.epsilon)
        offset = float(np.mean(np.abs(x.mean(axes) - np.asarray(layer.moving_mean)) / std))
        result[layer.name] = offset
        print(f"{layer.name:10s} batch mean - moving mean: {offset:.2f} moving std on average")
    return result


if __name__ == "__main__":
    main()
