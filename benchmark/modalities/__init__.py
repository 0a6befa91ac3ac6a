"""Derived imaging modalities: pure functions on numpy arrays plus file-level helpers.

Each module models one way an image leaves the visible, well-lit, high-resolution regime the
pose estimators were designed for: :mod:`lowlight` (photon-starved sensor), :mod:`depth`
(metric depth to network input, low-resolution sensors), :mod:`thermal` (radiometric range to
8 bits), :mod:`grayscale` (colour removed). :mod:`derive` applies them to files for the
pipeline's data stages, deterministically.
"""
