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
  LineSourceOptions source;
  std::string checkpoint;
  std::string key;
  std::string map;
  std::string url;
  bool ack = false;
  int repeat = 1;
  int idle_ms = 200;
};

int run(ToolArgs& args) {
  Config c;
  CLI::App app{"Validate rowpipe-events(5) lines and write them back in canonical form (test helper).",
               "rowpipe-lines"};
  add_version_flag(app, "rowpipe-lines");
  app.add_option("FILE", c.source.files, "input files (default: stdin)");
  app.add_option("--max-line-bytes", c.source.max_line_bytes, "longest accepted line");
  app.add_option("--dead-letter", c.source.dead_letter, "set bad lines aside in FILE");
  app.add_option("--max-errors", c.source.max_errors, "stop after more than N bad lines");
  app.add_option("--checkpoint", c.checkpoint, "write the position after each flushed transaction");
  app.add_option("--key", c.key, "print each row's key (template) instead of the line");
  app.add_option("--map", c.map, "map file for key columns");
  app.add_option("--url", c.url, "a server URL (only reported, redacted)");
  app.add_flag("--ack", c.ack, "print applied-line counts instead of lines");
  app.add_option("--repeat", c.repeat, "write each output line N times")->check(CLI::PositiveNumber);
  app.add_option("--idle-ms", c.idle_ms, "flush when input is idle this long");
  if (int code = parse_options(app, args); code >= 0) return code;

  std::optional<KeyTemplate> key;
  if (!c.key.empty()) key = KeyTemplate::compile(c.key);
  std::optional<MapFile> map;
  if (!c.map.empty()) map = MapFile::load(c.map);
  if (!c.url.empty()) log::notice("server " + redact_url(c.url));

  Output out(STDOUT_FILENO, "stdout");
  AckWriter acker(out);
  LineSource source(c.source);
  std::optional<Checkpoint> done;     // position after the last transaction written out
  std::optional<Checkpoint> pending;  // position after the last transaction still buffered
  uint64_t pending_lines = 0;
  uint64_t events = 0;

  // Makes the buffered transactions durable downstream, then records how far that reaches.
  auto commit = [&] {
    out.flush();
    source.sync_dead_letter();
    if (pending) done = pending;
    if (c.ack) acker.ack(pending_lines);
    if (!c.checkpoint.empty() && done) write_checkpoint_file(c.checkpoint, *done);
  };

  int code = 0;
  try {
    for (;;) {
      if (signals::stop_requested()) {
        log::notice("stopping on signal: drained and checkpointed");
        break;
      }
      auto status = source.next(c.idle_ms);
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
      if (!c.ack)
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
