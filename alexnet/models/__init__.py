"""The networks: ``alexnet.py`` (the three variants), ``layers.py`` (what Keras lacks:
LRN, grouped convolutions without XLA), ``summary.py`` (MACs, where each layer sits).

This file loads no Keras, so that the command line offers these choices quickly.
"""

VARIANTS = ("paper", "owt", "bn")
INITS = ("glorot", "he", "paper")
DEFAULT_IMAGE_SIZE = {"paper": 227, "owt": 224, "bn": 224}
# Smallest inputs that survive every pooling (pool5 at least 1x1); the largest we accept:
# twice ImageNet's 227, which already takes about 8 GB a batch of 128 in training.
MIN_IMAGE_SIZE = {"paper": 67, "owt": 63, "bn": 63}
MAX_IMAGE_SIZE = 512
