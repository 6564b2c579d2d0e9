"""The training layer: the task contract, the config parser that builds a run, loaders, the LightningModule,
callbacks, ``train()`` and the measured costs of a trained model."""
