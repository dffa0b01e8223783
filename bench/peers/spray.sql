-- DuckDB equivalent of snowyowl's password-spray and distributed-password-spray (as far as SQL
-- over fixed windows says it), for make bench. {file} is replaced with the NDJSON file.
WITH failures AS (
  SELECT json_extract_string(j, '$.properties.ipAddress') AS ip,
         json_extract_string(j, '$.properties.userPrincipalName') AS u,
         CAST(json_extract_string(j, '$.properties.createdDateTime') AS TIMESTAMP) AS t
  FROM read_ndjson_objects('{file}') AS r(j)
  WHERE json_extract(j, '$.properties.status.errorCode')::INTEGER IN (50126, 50053, 50055, 50056, 50034, 50057)
),
per_ip AS (
  SELECT 'password-spray' AS detector, ip AS entity, time_bucket(INTERVAL 20 MINUTE, t) AS w,
         count(DISTINCT u) AS users, count(*) AS attempts
  FROM failures GROUP BY ip, w HAVING count(DISTINCT u) >= 5
),
tenant_wide AS (
  SELECT 'distributed-password-spray' AS detector, NULL AS entity, time_bucket(INTERVAL 30 MINUTE, t) AS w,
         count(DISTINCT u) AS users, count(DISTINCT ip) AS attempts
  FROM failures GROUP BY w HAVING count(DISTINCT u) >= 15 AND count(DISTINCT ip) >= 10
)
SELECT * FROM per_ip UNION ALL SELECT * FROM tenant_wide ORDER BY w;
