"""Interpretability analyses of trained agents (Annasamy & Sycara 2019, Figs 2-4, 9, 14).

Each analysis is a plain function on an agent from :func:`agents.rundir.load_agent`:

* :mod:`.saliency`: Greydanus-style perturbation saliency, batched;
* :mod:`.inversion`: key inversion (decode each key) and latent interpolation;
* :mod:`.tsne`: t-SNE of state embeddings and keys.
"""
