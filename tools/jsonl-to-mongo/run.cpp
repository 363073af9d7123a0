// The read-apply loop: input lines in, bulk writes out, a summary at the end.
#include "run.hpp"

#include <unistd.h>

#include <optional>

#include "cli/error.hpp"
#include "cli/log.hpp"
#include "clients/mongo.hpp"
#include "clients/mysql.hpp"
#include "event/key_template.hpp"
#include "event/line_source.hpp"
#include "event/map_file.hpp"
#include "io/dead_letter.hpp"
#include "io/output.hpp"
#include "io/signals.hpp"
#include "sink.hpp"

namespace rowpipe::mongo_sink {
namespace {

int print_checkpoint(const Config& config) {
  Targets targets;
  StoreOptions so;
  so.timeout = std::chrono::seconds(config.timeout_s);
  so.retry_for = std::chrono::seconds(config.retry_s);
  so.name = config.sink.name;
  Store store(parse_url(resolve_url_argument(config.mongo), Scheme::kMongodb), so, targets);
  store.open();
  if (!store.stored_at_open()) return 0;
  Output out(STDOUT_FILENO, "stdout");
  out.write(store.stored_at_open()->binlog.str());
  out.put('\n');
  out.flush();
  return 0;
}

}  // namespace

int run(const Config& config) {
  if (config.quiet) log::set_threshold(log::Level::kWarning);
  if (config.verbose) log::set_threshold(log::Level::kInfo);
  // Bad templates and URLs are usage errors before anything else.
  KeyTemplate::compile(config.database);
  KeyTemplate::compile(config.collection);
  parse_url(resolve_url_argument(config.mongo), Scheme::kMongodb);
  if (!config.refetch.empty()) {
    if (config.guard || config.reconcile)
      fail(ErrorKind::kUsage, "--refetch applies rows in order: it cannot be combined with --guard or --reconcile");
    parse_url(resolve_url_argument(config.refetch), Scheme::kMysql);
  }
  MongoLibrary mongo_library;
  std::optional<MysqlLibrary> mysql_library;
  if (!config.refetch.empty()) mysql_library.emplace();
  std::optional<MapFile> map;
  if (!config.sink.map.empty()) map = MapFile::load(config.sink.map);
  if (config.print_checkpoint) return print_checkpoint(config);

  Output out(STDOUT_FILENO, "stdout");
  AckWriter acker(out);
  LineSource source(config.sink.input);
  Sink sink(config, map ? &*map : nullptr, source, config.sink.ack ? &acker : nullptr);
  bool guard = config.guard || config.reconcile;
  std::string stop_reason;
  try {
    sink.open();
    log::ProgressMeter meter;
    for (;;) {
      if (signals::stop_requested()) {
        log::notice("stopping on signal: applying what was read");
        break;
      }
      auto status = source.next(config.sink.idle_ms);
      if (status == LineSource::Status::kEnd) break;
      if (status == LineSource::Status::kIdle) {
        sink.on_idle();
      } else if (status == LineSource::Status::kStop) {
        stop_reason = source.error();
        break;
      } else {
        try {
          sink.on_event(source.event());
        } catch (const Error& e) {
          if (e.kind() != ErrorKind::kData) throw;
          if (!source.set_aside(e.what())) {
            stop_reason = source.error();
            break;
          }
          sink.on_set_aside(source.event());
        }
        if (meter.due()) log::progress(std::to_string(source.lines_read()) + " lines read");
      }
      if (!sink.stop_reason().empty()) break;
    }
    log::finish_progress();
    sink.finish(!stop_reason.empty() || !sink.stop_reason().empty() || signals::stop_requested());
  } catch (const Error& e) {
    std::string where = guard ? std::string() : "; last applied position: " + sink.last_applied();
    fail(e.kind(), e.what() + where);
  }
  // A line the server refused stops the tool where it is; a bad line read later (the input's own
  // stop) must not hide it: both are reported, the refused one (earlier in the input) first.
  std::string refused = sink.stop_reason();
  if (stop_reason.empty()) stop_reason.swap(refused);
  const Stats& s = sink.stats();
  std::string summary = std::to_string(source.lines_read()) + " lines read: " + std::to_string(s.rows) +
                        " rows applied, " + std::to_string(s.skipped) + " skipped as already applied, ";
  if (guard) summary += std::to_string(s.stale) + " older than what MongoDB holds, ";
  summary += std::to_string(source.dead_lettered() + sink.set_aside()) + " set aside";
  if (s.cleared > 0) summary += ", " + std::to_string(s.cleared) + " documents deleted by TRUNCATE";
  if (s.dropped > 0) summary += ", " + std::to_string(s.dropped) + " collections dropped";
  if (s.reconciled > 0) summary += ", " + std::to_string(s.reconciled) + " documents reconciled away";
  if (!guard) summary += "; checkpoint at " + sink.last_applied();
  log::notice(summary);
  if (!stop_reason.empty()) {
    if (!refused.empty()) log::error(refused);
    log::error(stop_reason);
    return exit_code(ErrorKind::kData);
  }
  return 0;
}

}  // namespace rowpipe::mongo_sink
