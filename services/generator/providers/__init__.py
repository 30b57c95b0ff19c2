"""Providers that run predictions: the hosted Replicate API and the offline animatic renderer."""
