// mq-pipe: carries lines to RabbitMQ or Kafka and back, nothing lost, order kept per row (man/mq-pipe.1).
#include <CLI/CLI.hpp>
#include <algorithm>

#include "cli/app.hpp"
#include "cli/log.hpp"
#include "commands.hpp"
#include "config.hpp"

namespace rowpipe::mq {
namespace {

int main_body(ToolArgs& args) {
  Config c;
  RawOptions raw;
  // `sub URL [OPTIONS] -- COMMAND ARGS...`: the command is not ours to parse.
  auto dashes = std::find(args.args.begin() + (args.args.empty() ? 0 : 1), args.args.end(), "--");
  if (dashes != args.args.end()) {
    c.command.assign(dashes + 1, args.args.end());
    if (c.command.empty()) {
      log::error("no COMMAND after --");
      return 64;
    }
    args.args.erase(dashes, args.args.end());
  }
  CLI::App app{"Carry lines to RabbitMQ or Kafka (pub) and back (sub), nothing lost, order kept per row.", "mq-pipe"};
  add_version_flag(app, "mq-pipe");
  add_options(app, c, raw);
  if (int code = parse_options(app, args); code >= 0) return code;
  resolve(app, c, raw);
  if (c.quiet) log::set_threshold(log::Level::kWarning);
  if (c.verbose) log::set_threshold(log::Level::kInfo);
  switch (c.mode) {
    case Mode::kPub: return run_pub(c);
    case Mode::kSub: return run_sub(c);
    case Mode::kLag: return run_lag(c);
  }
  return 70;
}

}  // namespace
}  // namespace rowpipe::mq

int main(int argc, char** argv) { return rowpipe::run_tool("mq-pipe", argc, argv, rowpipe::mq::main_body); }
