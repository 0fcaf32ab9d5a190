// The GPT-2 / Qwen2 byte-level alphabet: every byte 0..255 is shown as one printable Unicode
// character so that BPE tokens are text (mirrors `bytes_to_unicode()` in tokenization_qwen2.py).
// vocab.json and merges.txt are written in this alphabet; the engine works on raw bytes.
#pragma once
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace fvlm {

// "Ġhello" -> " hello". nullopt when a character is outside the 256-character alphabet.
std::optional<std::string> byte_unicode_to_bytes(std::string_view token);

// " hello" -> "Ġhello".
std::string bytes_to_byte_unicode(std::string_view bytes);

}  // namespace fvlm
