// UTF-8 helpers for the tokenizer: validation, lossy decoding with U+FFFD exactly like Python's
// bytes.decode("utf-8", errors="replace") (one U+FFFD per "maximal subpart", Unicode ch. 3 §3.9),
// and the length of an unfinished multi-byte sequence at the end of a buffer (for streaming).
#pragma once
#include <cstddef>
#include <string>
#include <string_view>

namespace fvlm::utf8 {

// Length of the well-formed sequence starting at s[i] (1..4), or 0 when s[i] does not start one.
// In that case *maximal_subpart is set to the number of bytes that one U+FFFD replaces (>= 1).
int sequence_length(std::string_view s, size_t i, int* maximal_subpart);

bool is_valid(std::string_view s);

// Well-formed text unchanged; every maximal ill-formed subpart replaced by U+FFFD (EF BF BD).
std::string decode_lossy(std::string_view bytes);
void append_lossy(std::string_view bytes, std::string& out);

// Number of trailing bytes (0..3) that form a well-formed but unfinished sequence: more bytes
// may still complete it, so a stream decoder holds them back.
int incomplete_tail(std::string_view s);

}  // namespace fvlm::utf8
