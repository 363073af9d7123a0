// Applies a MySQL partial JSON update (binlog_row_value_options=PARTIAL_JSON) to the JSON document
// of the before image.
#pragma once

#include <string>
#include <string_view>

namespace rowpipe::binlog {

// `doc` is the before value as JSON text, `diff` the logged diff rendered as a JSON array of
// {"op":"replace"|"insert"|"remove","path":"$...","value":...}. On success writes the updated
// document, compact, to `out` and returns true; returns false when a path does not resolve (the
// caller then carries the diff itself).
bool apply_json_diff(std::string_view doc, std::string_view diff, std::string& out);

}  // namespace rowpipe::binlog
