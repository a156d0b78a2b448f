"""The command line's harness around the core: run folders, resume, devices, shards, packs,
torchvision weights and the PDF. The notebook never imports it; it imports the core."""
