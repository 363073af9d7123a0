// The frame every tool's main() runs in: argv hygiene, signals, option parsing, errors -> exit codes.
#pragma once

#include <functional>
#include <string>
#include <string_view>
#include <vector>

namespace CLI {
class App;
}

namespace rowpipe {

struct ToolArgs {
  std::vector<std::string> args;  // copy of argv taken before secrets were blanked
  // argv-style pointers into `args`, for CLI11.
  std::vector<char*> argv() {
    std::vector<char*> out;
    for (auto& a : args) out.push_back(a.data());
    return out;
  }
};

// Sets the tool name for diagnostics, installs the signal policy, copies argv and blanks secrets in
// the original, runs `body`, and maps what it throws to an exit code in one place: Error -> its
// category's code with `tool: error: message`; BrokenPipe (stdout closed) -> 0, quietly; anything
// else -> 70. Also checks at exit that stdout was written successfully.
int run_tool(std::string_view name, int argc, char** argv, const std::function<int(ToolArgs&)>& body);

// Parses options with CLI11. Returns -1 to go on, or the exit code to return now: 0 after --help or
// --version (printed on stdout), 64 after a usage error (printed on stderr with a hint).
int parse_options(CLI::App& app, ToolArgs& args);

// Adds --version to an app (CLI11's flag prints `tool VERSION`).
void add_version_flag(CLI::App& app, std::string_view tool);

// The project version ("rowpipe X").
const char* version();

}  // namespace rowpipe
