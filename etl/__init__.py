"""Write side of hemat: read procurement exports, clean them and merge them into the database."""
