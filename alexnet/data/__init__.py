"""From a dataset folder to batches: ``datasets`` (where a dataset is, downloaded if need
be, its layout resolved once), ``splits`` (a split's images and labels, held-out
fractions), ``augment`` (the one augmentation), ``batches`` (one decoder, squares in
memory or read each epoch, tf.data batches), ``files`` (checks of image files), ``names``
(class names), ``ilsvrc`` (ImageNet's label files)."""
