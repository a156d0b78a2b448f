"""Training: ``config`` (TrainConfig and the recipes), ``train`` (the steps), and the tools
around a run: ``devices`` (tf.distribute, precision, XLA), ``optimizer``, ``callbacks``,
``resume``, ``estimate``."""
