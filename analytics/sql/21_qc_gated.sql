-- The latest QC gate (suite sample_qc) of every gated run, with the run's tags and the time it is
-- counted at: the run's current status time, the gate's own when the run is not in the lake (the
-- gate runs in batches; people ask what last week's runs looked like, not what the gate did).
SELECT v.run_id, v.sample_id, v.verdict, v.evaluated_at, v.suite_version,
       coalesce(r.project, v.project) AS project, r.workflow, r.cost_centre,
       coalesce(r.pipeline_release, q.pipeline_release) AS pipeline_release,
       coalesce(r.status_at, v.evaluated_at) AS counted_at
FROM qc_verdicts v
LEFT JOIN run_latest r ON r.run_id = v.run_id
LEFT JOIN (SELECT run_id, max(pipeline_release) AS pipeline_release FROM qc_results
           WHERE suite = 'sample_qc' AND check_id = 'overall' GROUP BY run_id) q
       ON q.run_id = v.run_id
WHERE v.suite = 'sample_qc'
