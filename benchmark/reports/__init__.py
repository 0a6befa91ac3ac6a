"""Reports: leaderboard and paper tables built from the MLflow runs."""
