"""Models: config composition (base model + dataset overlay + modality overlay), MMPose
extensions, training and inference of one benchmark cell."""

import os

# albumentations (RTMPose's transforms) asks PyPI for a newer version at import unless told
# not to: nothing may reach the network at import time.
os.environ.setdefault("NO_ALBUMENTATIONS_UPDATE", "1")
