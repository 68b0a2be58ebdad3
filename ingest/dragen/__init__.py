"""DRAGEN metric files into the lake: one parser per file shape, a registry, a catalogue, a service.

Public entry points: :func:`ingest.dragen.service.parse_run_files` (pure),
:func:`ingest.dragen.service.ingest_folder` (one run's folder into the lake), and for many runs
:mod:`ingest.dragen.discovery` (which files are which run), :mod:`ingest.dragen.ids` (their
sample and run ids) and :mod:`ingest.dragen.bulk` (parallel batches into the lake).
"""
