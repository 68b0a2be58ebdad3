-- One row per run with the clinically used QC metrics (germline WGS), pivoted from qc_metrics.
-- Contract: /work/brief/qc-contract.md. Rows are picked by the catalogue's metric_id (stable across
-- DRAGEN versions and bin padding), not by the raw name. For tumour/normal runs the tumour rows are
-- used: phenotype NULL (germline) or 'tumor'. Mapping metrics come from the SUMMARY section
-- (read_group = ''), not PER RG. Portable SQL (DuckDB and Athena/Trino): CASE pivots, no FILTER.
SELECT
    MAX(sample_id) AS sample_id,
    run_id,
    MAX(run_at) AS run_at,
    MAX(dragen_version) AS dragen_version,
    COALESCE(
        MAX(CASE WHEN metric_id = 'genome_mean_autosomal_coverage_x' THEN value END),
        MAX(CASE WHEN metric_id = 'genome_mean_coverage_x' THEN value END)
    ) AS mean_coverage_x,
    MAX(CASE WHEN metric_id = 'genome_ge_20x_pct' THEN value END) AS genome_ge_20x_pct,
    MAX(CASE WHEN metric_id = 'genome_ge_15x_pct' THEN value END) AS genome_ge_15x_pct,
    MAX(CASE WHEN metric_id = 'q30_bases' AND read_group = '' THEN value END) AS q30_bases,
    MAX(CASE WHEN metric_id = 'q30_bases' AND read_group = '' THEN value_pct END) AS q30_bases_pct,
    MAX(CASE WHEN metric_id = 'mapped_reads' AND read_group = '' THEN value_pct END)
        AS mapped_reads_pct,
    MAX(CASE WHEN metric_id = 'duplicate_marked_reads' AND read_group = '' THEN value_pct END)
        AS duplicate_reads_pct,
    -- DRAGEN writes a fraction (GA4GH cross_contamination_rate); the view gives a percent.
    MAX(CASE WHEN metric_id = 'estimated_sample_contamination' AND read_group = ''
             THEN value * 100 END) AS contamination_pct,
    MAX(CASE WHEN metric_id = 'insert_length_median_bp' AND read_group = '' THEN value END)
        AS insert_length_median_bp,
    MAX(CASE WHEN metric_id = 'vc_postfilter_ti_tv_ratio' THEN value END) AS ti_tv_ratio,
    MAX(CASE WHEN metric_id = 'vc_postfilter_het_hom_ratio' THEN value END) AS het_hom_ratio,
    MAX(CASE WHEN metric_id = 'vc_postfilter_snps' THEN value END) AS snps,
    -- DRAGEN writes no total of indels: when no "Indels" row exists, the five indel classes add up.
    COALESCE(
        MAX(CASE WHEN metric_id = 'vc_postfilter_indels' THEN value END),
        SUM(CASE WHEN metric_id IN ('vc_postfilter_insertions_hom', 'vc_postfilter_insertions_het',
                                    'vc_postfilter_deletions_hom', 'vc_postfilter_deletions_het',
                                    'vc_postfilter_indels_het') THEN value END)
    ) AS indels,
    MAX(CASE WHEN metric_id = 'ploidy_estimation' AND TRIM(value_text) NOT IN ('', 'NA')
             THEN TRIM(value_text) END) AS ploidy,
    MAX(CASE WHEN metric_id = 'total_runtime_s' THEN value END) AS total_runtime_s
FROM qc_metrics
WHERE phenotype IS NULL OR phenotype = 'tumor'
GROUP BY run_id
