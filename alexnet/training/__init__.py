"""Training: ``config`` (TrainConfig and the recipes), ``train`` (the steps), and the tools
around a run: ``callbacks``, ``resume``, ``optimizer``, ``precision``, ``distribute``,
``estimate``."""
