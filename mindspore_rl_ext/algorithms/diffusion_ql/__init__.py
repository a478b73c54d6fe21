"""Diffusion-QL family (ql, qg, edp, bc, eg_ood) on the project's runtime."""
