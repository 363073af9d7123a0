// Options shared by the tools, declared once so every tool spells and documents them alike.
#pragma once

#include <cstdint>
#include <string>

#include "event/line_source.hpp"

namespace CLI {
class App;
}

namespace rowpipe {

// What a sink (a tool that applies lines somewhere) reads from the command line besides its
// destination.
struct SinkOptions {
  LineSourceOptions input;       // FILE..., --max-line-bytes, --dead-letter, --max-errors
  std::string name = "default";  // --name: the pipeline's checkpoint name in a shared store
  std::string map;               // --map FILE
  bool ack = false;              // --ack
  int idle_ms = 200;             // flush pending work when input is idle this long
};

// Adds FILE..., --max-line-bytes, --dead-letter, --max-errors, --name, --map, --ack.
void add_sink_options(CLI::App& app, SinkOptions& options);

}  // namespace rowpipe
