"""Models: config composition (base model + dataset overlay + modality overlay), MMPose
extensions, training and inference of one benchmark cell."""
