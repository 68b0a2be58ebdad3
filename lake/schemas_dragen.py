"""Tables added by this area (registered into lake.schemas.TABLES)."""
