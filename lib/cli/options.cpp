// Shared option declarations.
#include "cli/options.hpp"

#include <CLI/CLI.hpp>

namespace rowpipe {

void add_sink_options(CLI::App& app, SinkOptions& o) {
  app.add_option("FILE", o.input.files, "input files, in order (default: stdin; - is stdin)");
  app.add_option("--max-line-bytes", o.input.max_line_bytes, "longest accepted line (default 64 MiB)")
      ->check(CLI::PositiveNumber);
  app.add_option("--dead-letter", o.input.dead_letter, "set bad lines aside in FILE and go on");
  app.add_option("--max-errors", o.input.max_errors, "with --dead-letter: stop after more than N bad lines");
  app.add_option("--name", o.name, "name of this pipeline's checkpoint in the destination (default: default)");
  app.add_option("--map", o.map, "map file: key columns, kept/renamed columns, targets per table");
  app.add_flag("--ack", o.ack, "print the count of input lines applied after each durable step");
}

}  // namespace rowpipe
