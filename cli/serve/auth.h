// API keys: `Authorization: Bearer KEY`, compared in constant time so that the time a wrong key
// takes to refuse says nothing about how much of it was right.
#pragma once
#include <string_view>

namespace fvlm::cli::serve {

// Equal strings, in a time that depends only on the lengths (not on where they first differ).
bool constant_time_equal(std::string_view a, std::string_view b);

// The Authorization header value carries `key` ("Bearer <key>", scheme case-insensitive). An empty
// key means no key is required.
bool authorized(std::string_view authorization_header, std::string_view key);

}  // namespace fvlm::cli::serve
