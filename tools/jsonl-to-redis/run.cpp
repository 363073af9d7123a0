// The read-apply loop: input lines in, Redis batches out, a summary at the end.
#include "run.hpp"

#include <unistd.h>

#include <cstdio>
#include <optional>

#include "cli/error.hpp"
#include "cli/log.hpp"
#include "clients/mysql.hpp"
#include "event/line_source.hpp"
#include "event/map_file.hpp"
#include "io/dead_letter.hpp"
#include "io/output.hpp"
#include "io/signals.hpp"
#include "sink.hpp"

namespace rowpipe::redis_sink {
namespace {

// --print-checkpoint: the oldest of the instances' checkpoints, the place the pipeline resumes from.
int print_checkpoint(const Config& config, const MapFile* map) {
  LinkOptions options;
  options.timeout = std::chrono::seconds(config.timeout_s);
  options.retry_for = std::chrono::seconds(config.retry_s);
  options.checkpoint_key = "rowpipe:checkpoint:" + config.sink.name;
  Destinations destinations(config, map, options);
  std::optional<Checkpoint> oldest;
  for (const auto& link : destinations.links()) {
    link->open();
    const auto& stored = link->stored_at_open();
    if (!stored) {
      if (destinations.links().size() > 1)
        log::notice("redis " + link->where() + " holds no checkpoint " + options.checkpoint_key);
      return 0;
    }
    if (!oldest || compare_checkpoints(*stored, *oldest) < 0) oldest = stored;
  }
  Output out(STDOUT_FILENO, "stdout");
  out.write(oldest->binlog.str());
  out.put('\n');
  out.flush();
  return 0;
}

}  // namespace

int run(const Config& config) {
  if (config.quiet) log::set_threshold(log::Level::kWarning);
  if (config.verbose) log::set_threshold(log::Level::kInfo);
  KeyTemplate::compile(config.key);  // a bad template is a usage error before anything else
  std::optional<MapFile> map;
  if (!config.sink.map.empty()) map = MapFile::load(config.sink.map);
  const MapFile* map_ptr = map ? &*map : nullptr;
  if (config.print_checkpoint) return print_checkpoint(config, map_ptr);
  if (!config.refetch.empty() && (config.guard || config.reconcile))
    fail(ErrorKind::kUsage, "--refetch applies rows in order: it cannot be combined with --guard or --reconcile");
  std::optional<MysqlLibrary> mysql_library;
  if (!config.refetch.empty()) mysql_library.emplace();

  Output out(STDOUT_FILENO, "stdout");
  AckWriter acker(out);
  LineSource source(config.sink.input);
  Sink sink(config, map_ptr, source, config.sink.ack ? &acker : nullptr);
  int code = 0;
  std::string stop_reason;
  try {
    sink.open();
    for (;;) {
      if (signals::stop_requested()) {
        log::notice("stopping on signal: applying what was read");
        break;
      }
      auto status = source.next(config.sink.idle_ms);
      if (status == LineSource::Status::kEnd) break;
      if (status == LineSource::Status::kIdle) {
        sink.on_idle();
        continue;
      }
      if (status == LineSource::Status::kStop) {
        stop_reason = source.error();
        break;
      }
      try {
        sink.on_event(source.event());
      } catch (const Error& e) {
        if (e.kind() != ErrorKind::kData || dynamic_cast<const RedisRefused*>(&e) != nullptr) throw;
        if (!source.set_aside(e.what())) {
          stop_reason = source.error();
          break;
        }
        sink.on_set_aside(source.event());
      }
    }
    sink.finish();
  } catch (const Error& e) {
    std::string where =
        config.guard || config.reconcile ? std::string() : "; last applied position: " + sink.last_applied();
    fail(e.kind(), e.what() + where);
  }
  const Stats& s = sink.stats();
  std::string summary = std::to_string(source.lines_read()) + " lines read: " + std::to_string(s.rows) +
                        " rows applied, " + std::to_string(s.skipped) + " skipped as already applied, ";
  bool guard = config.guard || config.reconcile;
  if (guard) summary += std::to_string(s.stale) + " older than what Redis holds, ";
  summary += std::to_string(source.dead_lettered()) + " set aside";
  if (s.purged > 0) summary += ", " + std::to_string(s.purged) + " keys deleted by TRUNCATE/DROP";
  if (!guard) summary += "; checkpoint at " + sink.last_applied();
  log::notice(summary);
  if (!stop_reason.empty()) {
    log::error(stop_reason);
    code = exit_code(ErrorKind::kData);
  }
  return code;
}

}  // namespace rowpipe::redis_sink
