// Tool frame: one place that turns exceptions into exit codes and diagnostics.
#include "cli/app.hpp"

#include <unistd.h>

#include <CLI/CLI.hpp>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <iostream>
#include <new>

#include "cli/error.hpp"
#include "cli/log.hpp"
#include "cli/secret.hpp"
#include "io/output.hpp"
#include "io/signals.hpp"

#ifndef ROWPIPE_VERSION
#define ROWPIPE_VERSION "0.1.0"
#endif

namespace rowpipe {

const char* version() { return ROWPIPE_VERSION; }

int run_tool(std::string_view name, int argc, char** argv, const std::function<int(ToolArgs&)>& body) {
  log::set_tool(name);
  signals::install();
  ToolArgs args;
  for (int i = 0; i < argc; ++i) args.args.emplace_back(argv[i]);
  blank_argv_secrets(argc, argv);

  int code = 0;
  try {
    code = body(args);
  } catch (const BrokenPipe&) {
    code = 0;  // the reader went away: the tool has checkpointed what it could; end quietly
  } catch (const Error& e) {
    log::finish_progress();
    log::error(e.what());
    code = exit_code(e.kind());
  } catch (const std::bad_alloc&) {
    log::error("out of memory");
    code = exit_code(ErrorKind::kInternal);
  } catch (const std::exception& e) {
    log::error(std::string("internal error: ") + e.what());
    code = exit_code(ErrorKind::kInternal);
  }
  log::finish_progress();
  // Data written through stdio (CLI11's help) must reach stdout too; a failure there is an error.
  if (std::fflush(stdout) != 0 && errno != EPIPE && code == 0) {
    log::error(std::string("writing stdout: ") + std::strerror(errno));
    code = exit_code(ErrorKind::kIo);
  }
  return code;
}

void add_version_flag(CLI::App& app, std::string_view tool) {
  app.set_version_flag("--version", std::string(tool) + " (rowpipe) " + ROWPIPE_VERSION);
}

int parse_options(CLI::App& app, ToolArgs& args) {
  std::vector<char*> argv = args.argv();
  try {
    app.parse(static_cast<int>(argv.size()), argv.data());
  } catch (const CLI::CallForHelp&) {
    std::cout << app.help() << std::flush;
    return 0;
  } catch (const CLI::CallForAllHelp&) {
    std::cout << app.help("", CLI::AppFormatMode::All) << std::flush;
    return 0;
  } catch (const CLI::CallForVersion& v) {
    std::cout << v.what() << std::endl;
    return 0;
  } catch (const CLI::ParseError& e) {
    log::error(e.what());
    std::string hint = "try '" + app.get_name() + " --help'";
    log::write(log::Level::kNotice, {}, hint);
    return exit_code(ErrorKind::kUsage);
  }
  return -1;
}

}  // namespace rowpipe
