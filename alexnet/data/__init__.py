"""From files to batches: ``datasets`` (where a dataset is, downloaded if need be, its
layout, resolved once), ``splits`` (a split's images and labels, held-out fractions),
``augment`` (every augmentation, and the Keras layer that runs it on the device),
``pipeline`` (tf.data), ``inputs`` (a run's batches, one interface for files and arrays),
``arrays`` and ``ondevice`` (data decoded into memory, and its batches), ``shards``
(TFRecord shards), ``files`` (checks of image files), ``failures`` (a failed read in one
line), ``ilsvrc`` (ImageNet's label files, class names)."""
