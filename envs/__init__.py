"""Batched PyTorch environments and Gymnasium adapters (``nco.envs``): see issue 3; empty so far."""
