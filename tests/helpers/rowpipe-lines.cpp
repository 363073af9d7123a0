// rowpipe-lines: a reference filter built only from the shared library (input, validation, dead
// letters, output, checkpoints, acks, signals, secrets); the CLI tests check the conventions on it.
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <optional>
#include <string>
#include <vector>

#include "cli/app.hpp"
#include "cli/error.hpp"
#include "cli/log.hpp"
#include "cli/options.hpp"
#include "cli/secret.hpp"
#include "event/key_template.hpp"
#include "event/line_source.hpp"
#include "event/map_file.hpp"
#include "io/checkpoint.hpp"
#include "io/dead_letter.hpp"
#include "io/output.hpp"
#include "io/signals.hpp"

namespace rowpipe {
namespace {

struct Config {
  SinkOptions sink;
  std::string checkpoint;
  std::string key;
  std::string url;
  int repeat = 1;
};

int run(ToolArgs& args) {
  Config c;
  CLI::App app{"Validate rowpipe-events(5) lines and write them back in canonical form (test helper).",
               "rowpipe-lines"};
  add_version_flag(app, "rowpipe-lines");
  add_sink_options(app, c.sink);
  app.add_option("--checkpoint", c.checkpoint, "write the position after each flushed transaction");
  app.add_option("--key", c.key, "print each row's key (template) instead of the line");
  app.add_option("--url", c.url, "a server URL (only reported, redacted)");
  app.add_option("--repeat", c.repeat, "write each output line N times")->check(CLI::PositiveNumber);
  app.add_option("--idle-ms", c.sink.idle_ms, "flush when input is idle this long");
  if (int code = parse_options(app, args); code >= 0) return code;

  std::optional<KeyTemplate> key;
  if (!c.key.empty()) key = KeyTemplate::compile(c.key);
  std::optional<MapFile> map;
  if (!c.sink.map.empty()) map = MapFile::load(c.sink.map);
  if (!c.url.empty()) log::notice("server " + redact_url(c.url));

  Output out(STDOUT_FILENO, "stdout");
  AckWriter acker(out);
  LineSource source(c.sink.input);
  std::optional<Checkpoint> done;     // position after the last transaction written out
  std::optional<Checkpoint> pending;  // position after the last transaction still buffered
  uint64_t pending_lines = 0;
  uint64_t events = 0;
  log::ProgressMeter meter;

  // Makes the buffered transactions durable downstream, then records how far that reaches.
  auto commit = [&] {
    out.flush();
    source.sync_dead_letter();
    if (pending) done = pending;
    if (c.sink.ack) acker.ack(pending_lines);
    if (!c.checkpoint.empty() && done) write_checkpoint_file(c.checkpoint, *done);
  };

  int code = 0;
  try {
    for (;;) {
      if (signals::stop_requested()) {
        log::notice("stopping on signal: drained and checkpointed");
        break;
      }
      auto status = source.next(c.sink.idle_ms);
      if (status == LineSource::Status::kEnd) break;
      if (status == LineSource::Status::kIdle) {
        commit();
        continue;
      }
      if (status == LineSource::Status::kStop) {
        commit();
        log::error(source.error());
        code = exit_code(ErrorKind::kData);
        break;
      }
      const Event& e = source.event();
      ++events;
      if (meter.due()) log::progress(std::to_string(source.lines_read()) + " lines read");
      std::string rendered;
      if (key) {
        if (const JsonValue* image = e.key_image()) {
          std::vector<std::string_view> cols;
          if (map)
            if (const TableMap* t = map->find(e.db, e.table)) cols = t->key_views();
          try {
            key->render(rendered, e, *image, cols);
          } catch (const Error& err) {
            commit();
            fail(err.kind(), source.where() + ": " + err.what());
          }
          rendered += '\n';
        }
      } else {
        append_event_line(rendered, e);
        rendered += '\n';
      }
      if (!c.sink.ack)
        for (int i = 0; i < c.repeat; ++i) out.write(rendered);
      if (e.commit && e.next) {
        pending = Checkpoint{*e.next, e.server_id, std::string(e.gtid), std::nullopt};
        pending_lines = source.lines_read();
        commit();
      } else if (!e.row && !e.commit) {
        // Seed lines carry no transaction boundaries: each is its own unit.
        pending_lines = source.lines_read();
      }
    }
    commit();
  } catch (const BrokenPipe&) {
    // The reader is gone: what it took is what `done` says; keep that checkpoint and end quietly.
    if (!c.checkpoint.empty() && done) write_checkpoint_file(c.checkpoint, *done);
    return 0;
  }
  log::info("read " + std::to_string(source.lines_read()) + " lines, " + std::to_string(events) + " events, " +
            std::to_string(source.dead_lettered()) + " set aside");
  return code;
}

}  // namespace
}  // namespace rowpipe

int main(int argc, char** argv) { return rowpipe::run_tool("rowpipe-lines", argc, argv, rowpipe::run); }
