"""Executors: where jobs run (AWS Batch, a local DRAGEN server, a simulated Batch on Spot)."""
