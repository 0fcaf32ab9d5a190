// Standard base64 (RFC 4648 alphabet, '=' padding) encoding: data: URIs for requests to `serve`
// (its load driver and tests). The strict decoder the server needs is cli/serve/data_uri.h's.
#pragma once
#include <string>
#include <string_view>

namespace fvlm {

std::string base64_encode(std::string_view bytes);

}  // namespace fvlm
