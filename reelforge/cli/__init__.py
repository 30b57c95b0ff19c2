"""The ``reelforge`` command: drives the pipeline through the gateway and runs a local stack."""
