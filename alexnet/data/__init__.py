"""From files to batches: ``datasets`` (a dataset on disk, resolved once, and its splits),
``augment`` (what each augmentation does), ``pipeline`` (tf.data), ``inputs`` (a run's
batches, one interface for files and arrays), ``arrays`` and ``ondevice`` (data held in
memory, augmented on the accelerator), ``shards`` (TFRecord shards), ``files`` (checks of
image files), ``ilsvrc`` (ImageNet's label files), ``download``."""
