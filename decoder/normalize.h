// Unicode NFC normalisation of tokenizer input (Qwen2Tokenizer: unicodedata.normalize("NFC");
// tokenizer.json: normalizer NFC), done by utf8proc.
#pragma once
#include <string>
#include <string_view>

namespace fvlm {

// NFC of valid UTF-8 `s`. Returns `s` itself when it is ASCII, otherwise a view of `buf`.
// ASCII characters never take part in a composition as the second character and are starters,
// so only the non-ASCII runs (plus the one ASCII character before each, a possible base) are
// handed to utf8proc.
std::string_view nfc(std::string_view s, std::string& buf);

// Reference: the whole string through utf8proc (used by tests).
std::string nfc_ref(std::string_view s);

}  // namespace fvlm
