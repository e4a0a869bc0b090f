"""Files: streamed Parquet/CSV export, and reading them back with their dtypes."""
