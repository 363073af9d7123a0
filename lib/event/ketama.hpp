// A libketama-compatible consistent-hash ring, so applications using libketama (or a compatible
// client such as python's uhashring in ketama mode) find the keys a tool spread over several servers.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace rowpipe {

// MD5 (RFC 1321) of `data`.
std::array<uint8_t, 16> md5(std::string_view data);

// The ring of libketama with equal weights: each server, named "host:port", gets 160 points: for
// i in 0..39 the MD5 of "NAME-i" gives four 32-bit points (bytes 4k..4k+3, little-endian). A key is
// hashed the same way (the first four bytes of its MD5) and belongs to the first point at or after its
// hash, wrapping around. Removing a server moves only the keys that were on it.
class KetamaRing {
 public:
  explicit KetamaRing(const std::vector<std::string>& servers);

  // Index (into the constructor's list) of the server that owns `key`.
  size_t server_for(std::string_view key) const;
  // The 32-bit ketama hash of a key.
  static uint32_t hash(std::string_view key);
  size_t points() const { return points_.size(); }

 private:
  struct Point {
    uint32_t value;
    uint32_t server;
  };
  std::vector<Point> points_;
};

}  // namespace rowpipe
