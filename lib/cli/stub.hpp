// Entry point for a tool whose issue is not done yet: answers --help and --version only.
#pragma once

namespace rowpipe {

// Parses the common options; anything else ends with "not implemented yet" and exit code 69.
int run_unimplemented_tool(const char* name, const char* summary, int argc, char** argv);

}  // namespace rowpipe
