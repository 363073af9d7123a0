// jsonl-to-mongo: applies rowpipe-events(5) lines to MongoDB as typed documents, exactly once
// (man/jsonl-to-mongo.1).
#include <CLI/CLI.hpp>

#include "cli/app.hpp"
#include "cli/options.hpp"
#include "config.hpp"
#include "run.hpp"

namespace rowpipe::mongo_sink {
namespace {

int main_body(ToolArgs& args) {
  Config c;
  CLI::App app{"Apply rowpipe-events(5) lines (files or stdin) to MongoDB as typed documents, exactly once.",
               "jsonl-to-mongo"};
  add_version_flag(app, "jsonl-to-mongo");
  app.add_option("--mongo", c.mongo, "mongodb://HOST:PORT (or @FILE holding it)")->required();
  app.add_option("--database", c.database, "database name template (default {db})");
  app.add_option("--collection", c.collection, "collection name template (default {table})");
  std::string decimal = "decimal128", datetime;
  app.add_option("--decimal", decimal, "decimal128 (default) or string: DECIMAL and integers beyond int64")
      ->check(CLI::IsMember({"decimal128", "string"}));
  app.add_option("--datetime", datetime, "date or string: every DATETIME/TIMESTAMP so (default: per precision)")
      ->check(CLI::IsMember({"date", "string"}));
  app.add_flag("--ignore-ddl", c.ignore_ddl, "keep collections on TRUNCATE and DROP TABLE");
  app.add_flag("--print-checkpoint", c.print_checkpoint, "print the resume position (FILE:POS) and exit");
  app.add_flag("--guard", c.guard, "write each row only if newer than what its document holds (unordered input)");
  app.add_option("--tombstone-ttl", c.tombstone_ttl, "seconds a --guard tombstone is kept (default 604800)")
      ->check(CLI::PositiveNumber);
  app.add_option("--refetch", c.refetch, "mysql://...: read each row's current version from MySQL");
  app.add_flag("--reconcile", c.reconcile, "after a snapshot, delete the table's documents it did not contain");
  app.add_option("--batch-bytes", c.batch_bytes, "group commit bound in bytes (default 8 MiB)")
      ->check(CLI::Range(size_t{1024}, size_t{1} << 30));
  app.add_option("--batch-rows", c.batch_rows, "group commit bound in rows (default 20000)")
      ->check(CLI::Range(size_t{1}, size_t{10000000}));
  app.add_option("--timeout", c.timeout_s, "seconds to wait for a connection or a reply (default 60)")
      ->check(CLI::Range(1u, 3600u));
  app.add_option("--retry-for", c.retry_s, "seconds an unavailable server is retried before giving up (default 60)")
      ->check(CLI::Range(0u, 86400u * 7));
  app.add_option("--idle-ms", c.sink.idle_ms, "write what was read when input pauses this long (default 200)")
      ->check(CLI::Range(1, 60000));
  app.add_flag("-q,--quiet", c.quiet, "only warnings and errors on stderr (no summary)");
  app.add_flag("-v,--verbose", c.verbose, "also report reconnects, DDL and retries as they happen");
  add_sink_options(app, c.sink);
  if (int code = parse_options(app, args); code >= 0) return code;
  c.decimal = decimal == "string" ? DecimalMode::kString : DecimalMode::kDecimal128;
  if (datetime == "date") c.datetime = DatetimeMode::kDate;
  if (datetime == "string") c.datetime = DatetimeMode::kString;
  return run(c);
}

}  // namespace
}  // namespace rowpipe::mongo_sink

int main(int argc, char** argv) {
  return rowpipe::run_tool("jsonl-to-mongo", argc, argv, rowpipe::mongo_sink::main_body);
}
