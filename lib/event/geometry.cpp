// WKB -> WKT, bounds-checked: geometry values come from the binlog or a server and are untrusted.
// Format: https://dev.mysql.com/doc/refman/8.0/en/gis-data-formats.html (OGC SFA 1.2.1, section 8.2).
//
//   MySQL value:  srid:u32le  wkb
//   wkb:          order:u8 (0 big-endian, 1 little-endian)  type:u32  body
//   body:         Point x:f64 y:f64 | LineString n:u32 n*point | Polygon rings:u32 rings*(n:u32 n*point)
//                 | Multi*/GeometryCollection n:u32 n*wkb (each member with its own order and type)
#include "event/geometry.hpp"

#include <bit>
#include <cmath>
#include <cstdint>
#include <cstring>

#include "cli/error.hpp"
#include "event/json_writer.hpp"

namespace rowpipe {
namespace {

enum WkbType : uint32_t {
  kPoint = 1,
  kLineString = 2,
  kPolygon = 3,
  kMultiPoint = 4,
  kMultiLineString = 5,
  kMultiPolygon = 6,
  kGeometryCollection = 7,
};

constexpr int kMaxDepth = 32;
constexpr size_t kPointBytes = 16;
constexpr size_t kMinWkbBytes = 1 + 4 + 4;  // order, type, count (or half a point)

class WkbReader {
 public:
  WkbReader(std::string_view bytes, size_t base) : p_(bytes.data()), size_(bytes.size()), base_(base) {}

  size_t remaining() const { return size_ - pos_; }
  size_t offset() const { return base_ + pos_; }

  uint8_t u8() {
    need(1);
    return static_cast<uint8_t>(p_[pos_++]);
  }
  uint32_t u32(bool little) {
    need(4);
    const auto* b = reinterpret_cast<const unsigned char*>(p_ + pos_);
    pos_ += 4;
    if (little) return uint32_t{b[0]} | uint32_t{b[1]} << 8 | uint32_t{b[2]} << 16 | uint32_t{b[3]} << 24;
    return uint32_t{b[3]} | uint32_t{b[2]} << 8 | uint32_t{b[1]} << 16 | uint32_t{b[0]} << 24;
  }
  double f64(bool little) {
    need(8);
    const auto* b = reinterpret_cast<const unsigned char*>(p_ + pos_);
    pos_ += 8;
    uint64_t v = 0;
    for (int i = 0; i < 8; ++i) v |= uint64_t{b[little ? i : 7 - i]} << (8 * i);
    return std::bit_cast<double>(v);
  }
  // A count read from the input, checked against the bytes left before anything loops over it.
  uint32_t count(bool little, size_t min_item_bytes) {
    size_t at = offset();
    uint32_t n = u32(little);
    if (min_item_bytes != 0 && n > remaining() / min_item_bytes) {
      error(at, "count " + std::to_string(n) + " exceeds the " + std::to_string(remaining()) + " bytes left");
    }
    return n;
  }

  [[noreturn]] void error(size_t at, const std::string& what) const {
    fail(ErrorKind::kData, "geometry: " + what + " at byte " + std::to_string(at));
  }

 private:
  void need(size_t n) const {
    if (size_ - pos_ < n) error(offset(), "truncated value");
  }

  const char* p_;
  size_t size_;
  size_t pos_ = 0;
  size_t base_;
};

class WktWriter {
 public:
  WktWriter(std::string& out, WkbReader& in) : out_(out), in_(in) {}

  // One WKB geometry with its header. `expected`: the member type a Multi* requires (0: any).
  void geometry(int depth, uint32_t expected, bool with_name) {
    if (depth > kMaxDepth) in_.error(in_.offset(), "geometry collections nested too deeply");
    size_t at = in_.offset();
    uint8_t order = in_.u8();
    if (order > 1) in_.error(at, "invalid WKB byte order " + std::to_string(order));
    bool little = order == 1;
    size_t type_at = in_.offset();
    uint32_t type = in_.u32(little);
    if (type < kPoint || type > kGeometryCollection) {
      in_.error(type_at, "unsupported WKB geometry type " + std::to_string(type));
    }
    if (expected != 0 && type != expected) {
      in_.error(type_at,
                "WKB type " + std::to_string(type) + " inside a collection of type " + std::to_string(expected + 3));
    }
    static constexpr const char* kNames[] = {"",           "POINT",           "LINESTRING",   "POLYGON",
                                             "MULTIPOINT", "MULTILINESTRING", "MULTIPOLYGON", "GEOMETRYCOLLECTION"};
    if (with_name) out_ += kNames[type];
    switch (type) {
      case kPoint:
        out_ += '(';
        point(little);
        out_ += ')';
        break;
      case kLineString: point_list(little, true); break;
      case kPolygon: polygon(little); break;
      case kMultiPoint:
      case kMultiLineString:
      case kMultiPolygon: {
        uint32_t n = in_.count(little, kMinWkbBytes);
        if (n == 0) {
          out_ += " EMPTY";
          break;
        }
        out_ += '(';
        for (uint32_t i = 0; i < n; ++i) {
          if (i > 0) out_ += ',';
          // Members are written without their type name: MULTIPOINT((1 2)), MULTIPOLYGON(((...))).
          geometry(depth + 1, type - 3, false);
        }
        out_ += ')';
        break;
      }
      case kGeometryCollection: {
        uint32_t n = in_.count(little, kMinWkbBytes);
        if (n == 0) {
          out_ += " EMPTY";
          break;
        }
        out_ += '(';
        for (uint32_t i = 0; i < n; ++i) {
          if (i > 0) out_ += ',';
          geometry(depth + 1, 0, true);
        }
        out_ += ')';
        break;
      }
    }
  }

 private:
  void coordinate(bool little) {
    size_t at = in_.offset();
    double v = in_.f64(little);
    if (!std::isfinite(v)) in_.error(at, "non-finite coordinate");
    json::append_double(out_, v);
  }

  void point(bool little) {
    coordinate(little);
    out_ += ' ';
    coordinate(little);
  }

  // "(x y,x y,...)"; an empty list is " EMPTY" for a LINESTRING, an error inside a polygon.
  void point_list(bool little, bool empty_allowed) {
    size_t at = in_.offset();
    uint32_t n = in_.count(little, kPointBytes);
    if (n == 0) {
      if (!empty_allowed) in_.error(at, "empty polygon ring");
      out_ += " EMPTY";
      return;
    }
    out_ += '(';
    for (uint32_t i = 0; i < n; ++i) {
      if (i > 0) out_ += ',';
      point(little);
    }
    out_ += ')';
  }

  void polygon(bool little) {
    uint32_t rings = in_.count(little, 4);
    if (rings == 0) {
      out_ += " EMPTY";
      return;
    }
    out_ += '(';
    for (uint32_t i = 0; i < rings; ++i) {
      if (i > 0) out_ += ',';
      point_list(little, false);
    }
    out_ += ')';
  }

  std::string& out_;
  WkbReader& in_;
};

void render(std::string& out, std::string_view wkb, size_t base) {
  WkbReader in(wkb, base);
  WktWriter writer(out, in);
  writer.geometry(0, 0, true);
  if (in.remaining() != 0) in.error(in.offset(), std::to_string(in.remaining()) + " trailing bytes");
}

}  // namespace

void append_wkt(std::string& out, std::string_view bytes) {
  if (bytes.size() < 4) fail(ErrorKind::kData, "geometry: truncated value at byte " + std::to_string(bytes.size()));
  render(out, bytes.substr(4), 4);
}

void append_wkt_from_wkb(std::string& out, std::string_view wkb) { render(out, wkb, 0); }

}  // namespace rowpipe
