// The placeholder tool body shared by tools still being built.
#include "cli/stub.hpp"

#include <CLI/CLI.hpp>
#include <string>
#include <vector>

#include "cli/app.hpp"
#include "cli/error.hpp"

namespace rowpipe {

int run_unimplemented_tool(const char* name, const char* summary, int argc, char** argv) {
  return run_tool(name, argc, argv, [&](ToolArgs& args) {
    CLI::App app{summary, name};
    add_version_flag(app, name);
    std::vector<std::string> operands;
    app.add_option("ARGS", operands, "arguments (see the man page)");
    app.footer(std::string("Not implemented yet: this release answers --help and --version only. See man ") + name +
               ".");
    if (int code = parse_options(app, args); code >= 0) return code;
    fail(ErrorKind::kUnavailable, "not implemented yet: this release answers --help and --version only");
  });
}

}  // namespace rowpipe
