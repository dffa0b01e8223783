"""snowyowl in Spark Structured Streaming: one detection engine per tenant, many tenants per stream.

A managed security provider receives the Entra ID / Microsoft 365 logs of many tenants mixed on one
stream. This package reads the stream, routes each line to its tenant (:mod:`.tenant`), keeps each
tenant's engine as a compressed snapshot in Spark's RocksDB state (:mod:`.processor`,
:mod:`.codec`), compiles the component once and loads it once per worker (:mod:`.runtime`), and
writes findings exactly once to files or at least once to Kafka (:mod:`.job`). :mod:`.output`
reads what a file sink committed.

    python -m snowyowl_spark.job --master 'local[2]' --input in/ --output out/ --checkpoint cp/
"""
