// What a DDL line's statement does to a table, as far as the sinks care: TRUNCATE, DROP TABLE, or other.
#pragma once

#include <cstdint>
#include <string_view>

namespace rowpipe {

enum class DdlKind : uint8_t { kOther, kTruncate, kDrop };

// TRUNCATE [TABLE] ... and DROP [TEMPORARY] TABLE ...; leading white space and comments (/* */, -- , #)
// skipped, keywords case-insensitive. Everything else is kOther.
DdlKind classify_ddl(std::string_view sql);

}  // namespace rowpipe
