// Ownership of C library handles: one generic deleter for every client (STYLE.md, "C libraries").
#pragma once

#include <memory>

namespace rowpipe {

// Calls F on a non-null pointer: `using RedisContext = std::unique_ptr<redisContext, Deleter<redisFree>>;`.
template <auto F>
struct Deleter {
  void operator()(auto* p) const noexcept {
    if (p) F(p);
  }
};

template <typename T, auto F>
using Handle = std::unique_ptr<T, Deleter<F>>;

}  // namespace rowpipe
