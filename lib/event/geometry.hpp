// GEOMETRY values as WKT, shared by the binlog decoder and the SQL converter.
#pragma once

#include <string>
#include <string_view>

namespace rowpipe {

// Appends the WKT of a value in MySQL's internal geometry format (4-byte little-endian SRID, then
// WKB: https://dev.mysql.com/doc/refman/8.0/en/gis-data-formats.html), as a bare text (no quotes).
// All 7 OGC types, either WKB byte order per (sub)geometry; coordinates are the shortest decimal that
// reads back to the same double; the SRID is not rendered. Forms:
//   POINT(1 2)  LINESTRING(0 0,1 1)  POLYGON((0 0,1 0,1 1,0 0),(...))  MULTIPOINT((1 2),(3 4))
//   MULTILINESTRING((0 0,1 1),(...))  MULTIPOLYGON(((0 0,1 0,1 1,0 0)),(...))
//   GEOMETRYCOLLECTION(POINT(1 2),LINESTRING(0 0,1 1))  and `<TYPE> EMPTY` for zero members.
// Throws Error(kData) naming the byte offset on truncated, trailing or malformed input (bad byte
// order, unknown or mismatched type, non-finite coordinate, nesting deeper than 32). On error, `out`
// may hold a partial rendering: the caller discards it with the row.
void append_wkt(std::string& out, std::string_view bytes);

// The same for plain WKB (no SRID prefix).
void append_wkt_from_wkb(std::string& out, std::string_view wkb);

}  // namespace rowpipe
