-- The QC verdict of every gated run and suite: the 'overall' rows of qc_results.
SELECT run_id, sample_id, project, suite, suite_version, verdict, passed,
       observed_text AS checks_not_passed, evaluated_at,
       substr(CAST(CAST(evaluated_at AS DATE) AS VARCHAR), 1, 7) AS evaluated_month, month
FROM qc_results
WHERE check_id = 'overall'
