"""The streaming job: raw lines of many tenants in, each tenant's findings out.

    python -m snowyowl_spark.job --input in/ --output out/ --checkpoint cp/
    spark-submit --py-files snowyowl_spark.zip job.py --source kafka --kafka-option ... (README)

Source (files of NDJSON, or Kafka / Event Hubs' Kafka endpoint) → each line's tenant and its place
in the source (:func:`route`, one pass of Python per partition) → ``groupBy(tenant)`` →
``transformWithStateInPandas`` (:class:`processor.TenantProcessor`, RocksDB state, processing-time
timers) → a file sink (exactly once: Spark's sink log) or Kafka (at least once).
"""

from __future__ import annotations

import argparse
import atexit
import json
import os
import shutil
import sys
import time
from typing import Any, Iterator, Optional

from . import codec, runtime
from .processor import OUTPUT_DDL, Settings, TenantProcessor
from .tenant import Router

__all__ = ["Options", "build_session", "start", "route", "main"]

ROUTED_DDL = "tenant string, line binary, where string, order_time long, order_source string, order_position long"
"""A routed line: its tenant, its bytes, where it came from (for reports), and its order."""


class Options(argparse.Namespace):
    """Parsed command line (see :func:`parser`)."""


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="snowyowl_spark.job",
        description="snowyowl per tenant in Spark Structured Streaming: raw Entra ID / M365 lines of "
        "many tenants in, OCSF findings (and rejected lines) out.",
    )
    p.add_argument("--source", choices=("files", "kafka"), default="files")
    p.add_argument("--input", help="files source: a directory of NDJSON files (new files are picked up)")
    p.add_argument("--max-files-per-trigger", type=int, default=1, help="files source: files per micro-batch")
    p.add_argument("--kafka-option", action="append", default=[], metavar="KEY=VALUE",
                   help="Kafka source option, repeated (kafka.bootstrap.servers=…, subscribe=…, …)")
    p.add_argument("--sink", choices=("files", "kafka"), default="files")
    p.add_argument("--output", help="files sink: directory (exactly once through Spark's sink log)")
    p.add_argument("--output-format", choices=("parquet", "json"), default="parquet")
    p.add_argument("--kafka-sink-option", action="append", default=[], metavar="KEY=VALUE",
                   help="Kafka sink option, repeated (kafka.bootstrap.servers=…, …)")
    p.add_argument("--findings-topic", default="snowyowl-findings", help="Kafka sink: topic of findings")
    p.add_argument("--rejected-topic", default="snowyowl-rejected",
                   help="Kafka sink: topic of rejected lines and errors")
    p.add_argument("--checkpoint", required=True, help="checkpoint directory (offsets, state, commits)")
    p.add_argument("--config", help="engine configuration file (JSON, as snowyowl scan --config)")
    p.add_argument("--partitions", type=int, default=None,
                   help="state partitions (spark.sql.shuffle.partitions); fixed by the first checkpoint")
    p.add_argument("--trigger", type=float, default=30.0, help="seconds between micro-batches")
    p.add_argument("--idle-after", type=float, default=300.0,
                   help="seconds without input after which a tenant's watermark moves on with the clock")
    p.add_argument("--retire-after", type=float, default=14 * 86400.0,
                   help="seconds without input after which a tenant is flushed and its state removed")
    p.add_argument("--codec", choices=codec.CODECS, default=codec.default_codec(), help="snapshot compression")
    p.add_argument("--profile", action="store_true", help="emit profile rows (time per phase, sizes)")
    p.add_argument("--master", default=os.environ.get("SNOWYOWL_SPARK_MASTER"),
                   help="Spark master when not run by spark-submit (e.g. local[2])")
    p.add_argument("--until-drained", action="store_true",
                   help="stop once a micro-batch has no input and no tenant holds state (tests, replays)")
    p.add_argument("--progress", help="append each micro-batch's progress (JSON lines) to this file")
    return p


def _pairs(items: list[str]) -> dict[str, str]:
    out = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep:
            raise SystemExit(f"error: expected KEY=VALUE, got {item!r}")
        out[key] = value
    return out


def build_session(
    master: Optional[str], partitions: Optional[int], app: str = "snowyowl", conf: Optional[dict] = None
) -> Any:
    """A Spark session with the RocksDB state store (``transformWithState`` needs it), and ``conf``."""
    from pyspark.sql import SparkSession

    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    builder = SparkSession.builder.appName(app)
    if master:
        builder = builder.master(master)
    if master and master.startswith("local"):
        # One machine: the driver talks to itself over loopback, whatever the host name resolves to.
        os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")
        builder = builder.config("spark.driver.host", "127.0.0.1").config("spark.driver.bindAddress", "127.0.0.1")
    builder = (
        builder.config(
            "spark.sql.streaming.stateStore.providerClass",
            "org.apache.spark.sql.execution.streaming.state.RocksDBStateStoreProvider",
        )
        .config("spark.sql.streaming.stateStore.rocksdb.changelogCheckpointing.enabled", "true")
        .config("spark.ui.enabled", os.environ.get("SNOWYOWL_SPARK_UI", "false"))
    )
    if partitions:
        builder = builder.config("spark.sql.shuffle.partitions", str(partitions))
    for key, value in (conf or {}).items():
        builder = builder.config(key, value)
    return builder.getOrCreate()


def route(frames: Iterator[Any], router: Optional[Router] = None) -> Iterator[Any]:
    """``mapInPandas``: each line's engine key (:class:`tenant.Router`: its tenant, or its group's),
    where it came from and its order in the source.

    Input columns: ``line`` (bytes), ``order_time``, ``order_source``, ``order_position`` and
    ``numbered`` (files: ``order_time`` is the file's modification time, ``order_position`` the
    split's first byte, and lines are numbered here in the order the split is read; Kafka: the
    broker's timestamp, the partition and the offset). Blank lines are dropped; they still count
    for line numbers.
    """
    import pandas as pd

    router = router or Router()
    counters: dict[tuple, int] = {}
    for frame in frames:
        tenants, wheres, positions, keep = [], [], [], []
        for line, source, start, numbered in zip(
            frame["line"], frame["order_source"], frame["order_position"], frame["numbered"]
        ):
            if numbered:
                row = counters.get((source, start), 0)
                counters[(source, start)] = row + 1
                positions.append(start + row)  # strictly increasing through the file's splits
                wheres.append(f"{source}:{row + 1}" if start == 0 else f"{source}@{start}:{row + 1}")
            else:
                positions.append(start)
                wheres.append(f"{source}@{start}")
            blank = line is None or not line.strip()
            keep.append(not blank)
            tenants.append(router.default if blank else router(line))
        out = pd.DataFrame(
            {
                "tenant": tenants,
                "line": frame["line"],
                "where": wheres,
                "order_time": frame["order_time"],
                "order_source": frame["order_source"],
                "order_position": positions,
            }
        )
        yield out[keep]


def read_source(spark: Any, options: Any) -> Any:
    """The raw lines with their order columns, before :func:`route`."""
    from pyspark.sql import functions as F

    if options.source == "files":
        if not options.input:
            raise SystemExit("error: --input is needed with --source files")
        raw = (
            spark.readStream.format("text")
            .option("lineSep", "\n")  # as the engine: only a newline ends a line
            .option("maxFilesPerTrigger", options.max_files_per_trigger)
            .load(options.input)
        )
        return raw.select(
            F.col("value").cast("binary").alias("line"),
            F.unix_millis(F.col("_metadata.file_modification_time")).alias("order_time"),
            F.col("_metadata.file_path").alias("order_source"),
            F.col("_metadata.file_block_start").alias("order_position"),
            F.lit(True).alias("numbered"),
        )
    return kafka_lines(spark.readStream.format("kafka").options(**_pairs(options.kafka_option)).load())


def kafka_lines(kafka: Any) -> Any:
    """Kafka records (the Kafka source's columns) as lines with their order columns."""
    from pyspark.sql import functions as F

    # A tenant's records may be spread over partitions (diagnostic settings set no key): within a
    # micro-batch they are pushed in the order the broker took them in, partitions merged.
    return kafka.select(
        F.col("value").alias("line"),
        F.unix_millis(F.col("timestamp")).alias("order_time"),
        F.concat(F.col("topic"), F.lit("["), F.col("partition").cast("string"), F.lit("]")).alias("order_source"),
        F.col("offset").alias("order_position"),
        F.lit(False).alias("numbered"),
    )


def kafka_records(rows: Any, findings_topic: str, rejected_topic: str) -> Any:
    """Output rows as Kafka records: findings to one topic, rejected lines and errors to another,
    keyed ``tenant:uid`` (a rejected line's uid is where it came from), with ``kind``, ``tenant``,
    ``detector`` and ``severity`` as headers. ``profile`` rows are left out."""
    from pyspark.sql import functions as F

    headers = F.array(
        *[
            F.struct(F.lit(name).alias("key"), F.col(name).cast("binary").alias("value"))
            for name in ("kind", "tenant", "detector", "severity")
        ]
    )
    topic = F.when(F.col("kind") == "finding", F.lit(findings_topic)).otherwise(F.lit(rejected_topic))
    return rows.where(F.col("kind") != "profile").select(
        topic.alias("topic"),
        F.concat_ws(":", "tenant", "uid").alias("key"),
        F.col("json").alias("value"),
        headers.alias("headers"),
    )


def ship_compiled(spark: Any) -> str:
    """Compiles the component once, here, and ships the compiled bytes to every executor
    (``SparkContext.addFile``: broadcasts do not reach ``transformWithStateInPandas`` workers).
    Returns the name workers find it under (``SparkFiles.get``)."""
    import hashlib
    import tempfile

    compiled = runtime.precompile()
    name = f"snowyowl-{hashlib.sha256(compiled).hexdigest()[:16]}.cwasm"
    if _shipped.get(id(spark.sparkContext)) != name:  # once per Spark context
        directory = tempfile.mkdtemp(prefix="snowyowl-spark-")
        atexit.register(shutil.rmtree, directory, True)  # executors fetch it while the driver runs
        path = os.path.join(directory, name)
        with open(path, "wb") as file:
            file.write(compiled)
        spark.sparkContext.addFile(path)
        _shipped[id(spark.sparkContext)] = name
    return name


_shipped: dict[int, str] = {}


def findings_frame(spark: Any, options: Any, settings: Settings) -> Any:
    """Source → routed lines → one engine per tenant → output rows (:data:`processor.OUTPUT_DDL`)."""
    compiled = ship_compiled(spark)
    router = Router(settings.config)
    routed = read_source(spark, options).mapInPandas(lambda frames: route(frames, router), ROUTED_DDL)
    return routed.groupBy("tenant").transformWithStateInPandas(
        statefulProcessor=TenantProcessor(settings, compiled),
        outputStructType=OUTPUT_DDL,
        outputMode="Append",
        timeMode="ProcessingTime",
    )


def engine_config(options: Any) -> str:
    """The engine configuration of ``--config`` (empty: defaults), checked by the engine:
    ``runtime.SnowyowlError`` names the field that is wrong."""
    if not options.config:
        return ""
    with open(options.config, encoding="utf-8") as file:
        config = file.read()
    runtime.new_engine(config).close()
    return config


def start(spark: Any, options: Any) -> Any:
    """Starts the query; returns the ``StreamingQuery``."""
    config = engine_config(options)
    settings = Settings(
        config=config,
        idle_after_ms=int(options.idle_after * 1000),
        retire_after_ms=int(options.retire_after * 1000),
        codec=options.codec,
        profile=options.profile,
    )
    rows = findings_frame(spark, options, settings)
    trigger = f"{options.trigger} seconds"
    if options.sink == "files":
        if not options.output:
            raise SystemExit("error: --output is needed with --sink files")
        writer = rows.writeStream.format(options.output_format).option("path", options.output)
    else:
        # At least once: a micro-batch replayed after a failure writes its rows again, the same
        # rows; the key (tenant and finding uid) lets a compacted topic or the consumer keep one.
        rows = kafka_records(rows, options.findings_topic, options.rejected_topic)
        writer = rows.writeStream.format("kafka").options(**_pairs(options.kafka_sink_option))
    return (
        writer.option("checkpointLocation", options.checkpoint)
        .outputMode("append")
        .trigger(processingTime=trigger)
        .queryName("snowyowl")
        .start()
    )


def drained(progress: Optional[dict]) -> bool:
    """A micro-batch with no input after which no tenant holds state or timers."""
    if not progress or progress.get("numInputRows", 1) != 0:
        return False
    operators = progress.get("stateOperators") or []
    return bool(operators) and all(op.get("numRowsTotal", 1) == 0 for op in operators)


def _as_dict(progress: Any) -> Optional[dict]:
    """A progress report as plain JSON values (PySpark 4 hands out an object with ``.json``)."""
    if progress is None:
        return None
    text = getattr(progress, "json", None)
    return json.loads(text) if isinstance(text, str) else json.loads(json.dumps(progress, default=str))


def main(argv: Optional[list[str]] = None) -> int:
    options = parser().parse_args(argv, namespace=Options())
    try:
        engine_config(options)  # before Spark starts: a bad config fails in a second
    except (runtime.SnowyowlError, OSError) as error:
        print(f"snowyowl_spark: --config {options.config}: {error}", file=sys.stderr)
        return 2
    spark = build_session(options.master, options.partitions)
    spark.sparkContext.setLogLevel(os.environ.get("SNOWYOWL_SPARK_LOG", "WARN"))
    query = start(spark, options)
    last_batch = -1
    try:
        while query.isActive:
            query.awaitTermination(1.0)
            # Every batch since the last look, not only the latest: two short batches can both
            # end within one second.
            fresh = []
            for report in map(_as_dict, query.recentProgress):
                if report and report.get("batchId", -1) > last_batch:
                    fresh.append(report)
                    last_batch = report["batchId"]
            if not fresh:
                continue
            if options.progress:
                with open(options.progress, "a", encoding="utf-8") as file:
                    file.writelines(json.dumps(report) + "\n" for report in fresh)
            progress = fresh[-1]
            if options.until_drained and drained(progress):
                while query.isActive and query.status.get("isTriggerActive"):
                    time.sleep(0.05)  # stop between micro-batches, not inside one
                query.stop()
    except KeyboardInterrupt:
        query.stop()
    if query.exception() is not None:
        print(f"snowyowl_spark: query failed: {query.exception()}", file=sys.stderr)
        return 1
    spark.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
