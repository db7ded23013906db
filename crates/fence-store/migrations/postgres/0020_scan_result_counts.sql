-- What became of each result of an imported file (JSON: results, new, duplicate, merged, merged_why, suppressed,
-- not_results, closed); NULL for scans that were not imports.
ALTER TABLE scans ADD COLUMN result_counts TEXT;
