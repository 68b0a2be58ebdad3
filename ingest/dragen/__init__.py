"""DRAGEN metric files into the lake: one parser per file shape, a registry, a catalogue, a service.

Public entry points: :func:`ingest.dragen.service.parse_run_files` (pure) and
:func:`ingest.dragen.service.ingest_folder` (reads a folder, writes the lake).
"""
