// jsonl-to-redis: applies rowpipe-events(5) lines to Redis, exactly once (man/jsonl-to-redis.1).
#include <CLI/CLI.hpp>

#include "cli/app.hpp"
#include "cli/options.hpp"
#include "config.hpp"
#include "run.hpp"

namespace rowpipe::redis_sink {
namespace {

int main_body(ToolArgs& args) {
  Config c;
  CLI::App app{"Apply rowpipe-events(5) lines (files or stdin) to Redis, exactly once.", "jsonl-to-redis"};
  add_version_flag(app, "jsonl-to-redis");
  app.add_option("--redis", c.redis, "redis://HOST:PORT[/DB] (or @FILE holding it); several: a ketama ring")
      ->required()
      ->allow_extra_args(false);
  app.add_option("--route", c.routes, "DB.TABLE=URL: send a table to its own instance (repeatable)")
      ->allow_extra_args(false);
  app.add_option("--key", c.key, "key template (default {db}_{table}_{pk})");
  std::string store = "hash";
  app.add_option("--store", store, "hash (default) or json")->check(CLI::IsMember({"hash", "json"}));
  std::string null_as;
  auto* null_opt = app.add_option("--null-as", null_as, "store NULL columns as STRING instead of leaving them out");
  app.add_flag("--ignore-ddl", c.ignore_ddl, "keep a table's keys on TRUNCATE and DROP TABLE");
  app.add_flag("--print-checkpoint", c.print_checkpoint, "print the resume position (FILE:POS) and exit");
  app.add_flag("--guard", c.guard, "apply each row only if newer than what its key holds (unordered input)");
  app.add_option("--tombstone-ttl", c.tombstone_ttl, "seconds a --guard tombstone is kept (default 604800)")
      ->check(CLI::PositiveNumber);
  app.add_option("--refetch", c.refetch, "mysql://...: read each row's current version from MySQL");
  app.add_flag("--reconcile", c.reconcile, "after a snapshot, delete the table's keys it did not contain");
  app.add_option("--batch-bytes", c.batch_bytes, "bound of one MULTI/EXEC (default 1 MiB)")
      ->check(CLI::Range(size_t{1024}, size_t{1} << 30));
  app.add_option("--timeout", c.timeout_s, "seconds to wait for a connection or a reply (default 30)")
      ->check(CLI::Range(1u, 3600u));
  app.add_option("--retry-for", c.retry_s, "seconds an unavailable Redis is retried before giving up (default 60)")
      ->check(CLI::Range(0u, 86400u * 7));
  app.add_option("--idle-ms", c.sink.idle_ms, "commit what was read when input pauses this long (default 200)")
      ->check(CLI::Range(1, 60000));
  app.add_flag("-q,--quiet", c.quiet, "only warnings and errors on stderr (no summary)");
  app.add_flag("-v,--verbose", c.verbose, "also report reconnects, DDL and purges as they happen");
  add_sink_options(app, c.sink);
  if (int code = parse_options(app, args); code >= 0) return code;
  c.store = store == "json" ? Store::kJson : Store::kHash;
  if (*null_opt) c.null_as = null_as;
  return run(c);
}

}  // namespace
}  // namespace rowpipe::redis_sink

int main(int argc, char** argv) {
  return rowpipe::run_tool("jsonl-to-redis", argc, argv, rowpipe::redis_sink::main_body);
}
