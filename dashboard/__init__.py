"""Read side of hemat: savings computed in SQL and presented as pages, charts and files."""
