// MD5 and the ketama continuum (libketama's ketama_create_continuum with equal weights).
#include "event/ketama.hpp"

#include <algorithm>
#include <cstring>

#include "cli/error.hpp"

namespace rowpipe {
namespace {

constexpr std::array<uint32_t, 64> kSines = {
    0xd76aa478, 0xe8c7b756, 0x242070db, 0xc1bdceee, 0xf57c0faf, 0x4787c62a, 0xa8304613, 0xfd469501,
    0x698098d8, 0x8b44f7af, 0xffff5bb1, 0x895cd7be, 0x6b901122, 0xfd987193, 0xa679438e, 0x49b40821,
    0xf61e2562, 0xc040b340, 0x265e5a51, 0xe9b6c7aa, 0xd62f105d, 0x02441453, 0xd8a1e681, 0xe7d3fbc8,
    0x21e1cde6, 0xc33707d6, 0xf4d50d87, 0x455a14ed, 0xa9e3e905, 0xfcefa3f8, 0x676f02d9, 0x8d2a4c8a,
    0xfffa3942, 0x8771f681, 0x6d9d6122, 0xfde5380c, 0xa4beea44, 0x4bdecfa9, 0xf6bb4b60, 0xbebfbc70,
    0x289b7ec6, 0xeaa127fa, 0xd4ef3085, 0x04881d05, 0xd9d4d039, 0xe6db99e5, 0x1fa27cf8, 0xc4ac5665,
    0xf4292244, 0x432aff97, 0xab9423a7, 0xfc93a039, 0x655b59c3, 0x8f0ccc92, 0xffeff47d, 0x85845dd1,
    0x6fa87e4f, 0xfe2ce6e0, 0xa3014314, 0x4e0811a1, 0xf7537e82, 0xbd3af235, 0x2ad7d2bb, 0xeb86d391};
constexpr std::array<uint32_t, 16> kShifts = {7, 12, 17, 22, 5, 9, 14, 20, 4, 11, 16, 23, 6, 10, 15, 21};

uint32_t rotl(uint32_t x, uint32_t n) { return (x << n) | (x >> (32 - n)); }

uint32_t load_le32(const uint8_t* p) {
  return static_cast<uint32_t>(p[0]) | static_cast<uint32_t>(p[1]) << 8 | static_cast<uint32_t>(p[2]) << 16 |
         static_cast<uint32_t>(p[3]) << 24;
}

void md5_block(std::array<uint32_t, 4>& state, const uint8_t* block) {
  uint32_t m[16];
  for (size_t i = 0; i < 16; ++i) m[i] = load_le32(block + 4 * i);
  uint32_t a = state[0], b = state[1], c = state[2], d = state[3];
  for (uint32_t i = 0; i < 64; ++i) {
    uint32_t f = 0, g = 0;
    if (i < 16) {
      f = (b & c) | (~b & d);
      g = i;
    } else if (i < 32) {
      f = (d & b) | (~d & c);
      g = (5 * i + 1) % 16;
    } else if (i < 48) {
      f = b ^ c ^ d;
      g = (3 * i + 5) % 16;
    } else {
      f = c ^ (b | ~d);
      g = (7 * i) % 16;
    }
    uint32_t next = b + rotl(a + f + kSines[i] + m[g], kShifts[(i / 16) * 4 + i % 4]);
    a = d;
    d = c;
    c = b;
    b = next;
  }
  state[0] += a;
  state[1] += b;
  state[2] += c;
  state[3] += d;
}

uint32_t point_of(const std::array<uint8_t, 16>& digest, size_t k) {
  return static_cast<uint32_t>(digest[3 + k * 4]) << 24 | static_cast<uint32_t>(digest[2 + k * 4]) << 16 |
         static_cast<uint32_t>(digest[1 + k * 4]) << 8 | digest[k * 4];
}

}  // namespace

std::array<uint8_t, 16> md5(std::string_view data) {
  std::array<uint32_t, 4> state = {0x67452301, 0xefcdab89, 0x98badcfe, 0x10325476};
  const auto* bytes = reinterpret_cast<const uint8_t*>(data.data());
  size_t full = data.size() / 64 * 64;
  for (size_t i = 0; i < full; i += 64) md5_block(state, bytes + i);
  uint8_t tail[128] = {};
  size_t rest = data.size() - full;
  if (rest > 0) std::memcpy(tail, bytes + full, rest);
  tail[rest] = 0x80;
  size_t tail_len = rest + 1 + 8 <= 64 ? 64 : 128;
  uint64_t bits = static_cast<uint64_t>(data.size()) * 8;
  for (size_t i = 0; i < 8; ++i) tail[tail_len - 8 + i] = static_cast<uint8_t>(bits >> (8 * i));
  for (size_t i = 0; i < tail_len; i += 64) md5_block(state, tail + i);
  std::array<uint8_t, 16> out{};
  for (size_t i = 0; i < 4; ++i)
    for (size_t j = 0; j < 4; ++j) out[4 * i + j] = static_cast<uint8_t>(state[i] >> (8 * j));
  return out;
}

uint32_t KetamaRing::hash(std::string_view key) { return point_of(md5(key), 0); }

KetamaRing::KetamaRing(const std::vector<std::string>& servers) {
  if (servers.empty()) fail(ErrorKind::kUsage, "a ketama ring needs at least one server");
  // libketama: floor(weight / total * 40 * servers) hashes per server, 4 points per hash.
  constexpr int kHashesPerServer = 40;
  points_.reserve(servers.size() * kHashesPerServer * 4);
  for (size_t s = 0; s < servers.size(); ++s) {
    for (int i = 0; i < kHashesPerServer; ++i) {
      auto digest = md5(servers[s] + "-" + std::to_string(i));
      for (size_t k = 0; k < 4; ++k) points_.push_back(Point{point_of(digest, k), static_cast<uint32_t>(s)});
    }
  }
  std::stable_sort(points_.begin(), points_.end(), [](const Point& a, const Point& b) { return a.value < b.value; });
}

size_t KetamaRing::server_for(std::string_view key) const {
  uint32_t h = hash(key);
  auto it = std::lower_bound(points_.begin(), points_.end(), h, [](const Point& p, uint32_t v) { return p.value < v; });
  if (it == points_.end()) it = points_.begin();
  return it->server;
}

}  // namespace rowpipe
