"""Gymnasium + MuJoCo environments and vectorised evaluation."""
