"""The data stage runners that ``dvc.yaml`` calls (download, convert, qa, preprocess) and the
glue that runs them under DVC: the floor above datasets, qa and modalities, which they use."""
