"""The lake contract: schemas, the store, settings and error types. Imports nothing of ours."""
