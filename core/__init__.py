"""Framework glue shared by every domain package: config, db, errors, auth."""
