#include "core/image_header.h"

#include <algorithm>
#include <cstdlib>
#include <cstring>

namespace fvlm {

using namespace std::string_view_literals;

namespace {

// Bounds-checked little/big-endian reads: out-of-range reads return 0 and set `ok` false.
struct Reader {
  std::span<const uint8_t> b;
  bool big_endian = false;
  bool ok = true;

  bool has(size_t pos, size_t n) const { return pos <= b.size() && n <= b.size() - pos; }
  uint32_t u8(size_t p) { return has(p, 1) ? b[p] : fail(); }
  uint32_t u16(size_t p) {
    if (!has(p, 2)) return fail();
    return big_endian ? (b[p] << 8) | b[p + 1] : b[p] | (b[p + 1] << 8);
  }
  uint32_t u24le(size_t p) {
    return has(p, 3) ? b[p] | (b[p + 1] << 8) | (uint32_t(b[p + 2]) << 16) : fail();
  }
  uint32_t u32(size_t p) {
    if (!has(p, 4)) return fail();
    return big_endian ? (uint32_t(b[p]) << 24) | (b[p + 1] << 16) | (b[p + 2] << 8) | b[p + 3]
                      : b[p] | (b[p + 1] << 8) | (b[p + 2] << 16) | (uint32_t(b[p + 3]) << 24);
  }
  bool starts(size_t p, std::string_view s) const {
    return has(p, s.size()) && std::memcmp(b.data() + p, s.data(), s.size()) == 0;
  }
  uint32_t fail() {
    ok = false;
    return 0;
  }
};

// EXIF blocks in PNG eXIf / WebP EXIF are a bare TIFF structure, but some writers keep JPEG's
// "Exif\0\0" prefix: accept both.
int exif_orientation(std::span<const uint8_t> exif) {
  if (exif.size() >= 6 && std::memcmp(exif.data(), "Exif\0\0", 6) == 0) exif = exif.subspan(6);
  return tiff_orientation(exif);
}

// TIFF IFD0 entries: width (256), height (257), orientation (274). Values of type SHORT (3) or
// LONG (4) sit in the entry's 4-byte value field when count == 1.
struct TiffIfd0 {
  int64_t width = 0, height = 0;
  int orientation = 1;
};
bool read_tiff_ifd0(std::span<const uint8_t> bytes, TiffIfd0& out) {
  Reader r{bytes};
  if (r.starts(0, "II*\0"sv))
    r.big_endian = false;
  else if (r.starts(0, "MM\0*"sv))
    r.big_endian = true;
  else
    return false;
  const uint32_t ifd = r.u32(4);
  const uint32_t n = r.u16(ifd);
  if (!r.ok) return false;
  for (uint32_t i = 0; i < n; ++i) {
    const size_t e = size_t(ifd) + 2 + size_t(i) * 12;
    const uint32_t tag = r.u16(e), type = r.u16(e + 2), count = r.u32(e + 4);
    if (!r.ok) return false;
    if (count != 1 || (type != 3 && type != 4)) continue;
    const uint32_t value = type == 3 ? r.u16(e + 8) : r.u32(e + 8);
    if (tag == 256)
      out.width = value;
    else if (tag == 257)
      out.height = value;
    else if (tag == 274 && value >= 1 && value <= 8)
      out.orientation = int(value);
  }
  return r.ok;
}

bool is_jpeg_sof(uint32_t m) {  // SOF0-3, 5-7, 9-11, 13-15 (C4 = DHT, C8 = JPG, CC = DAC are not)
  return m >= 0xC0 && m <= 0xCF && m != 0xC4 && m != 0xC8 && m != 0xCC;
}

void probe_jpeg(std::span<const uint8_t> b, ImageHeader& h) {
  Reader r{b, /*big_endian=*/true};
  h.complete = false;
  size_t pos = 2;
  bool exif_seen = false;
  while (r.has(pos, 2)) {
    if (b[pos] != 0xFF) return;  // lost sync: corrupt
    const uint32_t marker = b[pos + 1];
    if (marker == 0xFF) {
      ++pos;
      continue;
    }  // fill byte
    pos += 2;
    if (marker == 0xD8 || marker == 0x01 || (marker >= 0xD0 && marker <= 0xD7)) continue;  // no length
    if (marker == 0xD9) return;  // EOI before any scan
    const uint32_t len = r.u16(pos);
    if (!r.ok || len < 2 || !r.has(pos, len)) return;  // truncated segment
    const auto seg = b.subspan(pos + 2, len - 2);
    if (is_jpeg_sof(marker) && seg.size() >= 5) {  // precision, height, width
      h.height = (seg[1] << 8) | seg[2];
      h.width = (seg[3] << 8) | seg[4];
    } else if (marker == 0xE1 && !exif_seen && seg.size() >= 6 &&
               std::memcmp(seg.data(), "Exif\0\0", 6) == 0) {
      h.orientation = tiff_orientation(seg.subspan(6));
      exif_seen = true;
    } else if (marker == 0xDA) {
      // Entropy-coded data never contains FF D9 (FF is stuffed as FF 00), so the first FF D9
      // after the first scan header is the end of the image.
      static constexpr uint8_t kEoi[2] = {0xFF, 0xD9};
      const auto rest = b.subspan(pos + len);
      h.complete = std::search(rest.begin(), rest.end(), kEoi, kEoi + 2) != rest.end();
      return;
    }
    pos += len;
  }
}

void probe_png(std::span<const uint8_t> b, ImageHeader& h) {
  Reader r{b, /*big_endian=*/true};
  if (!r.starts(12, "IHDR")) return;
  h.width = r.u32(16);
  h.height = r.u32(20);
  if (!r.ok) {
    h.width = h.height = 0;
    return;
  }
  h.complete = false;
  size_t pos = 8;
  while (r.has(pos, 12)) {  // length, type, data, crc
    const uint32_t len = r.u32(pos);
    if (!r.has(pos + 8, size_t(len) + 4)) return;  // truncated chunk
    if (r.starts(pos + 4, "eXIf")) h.orientation = exif_orientation(b.subspan(pos + 8, len));
    if (r.starts(pos + 4, "IEND")) {
      h.complete = true;
      return;
    }
    pos += 12 + size_t(len);
  }
}

void probe_webp(std::span<const uint8_t> b, ImageHeader& h) {
  Reader r{b};
  size_t pos = 12;
  bool have_canvas = false;
  while (r.has(pos, 8)) {  // fourcc, size, payload (padded to even)
    const uint32_t len = r.u32(pos + 4);
    if (!r.has(pos + 8, len)) h.complete = false;  // truncated: still read what the header says
    const auto d = b.subspan(pos + 8, std::min<size_t>(len, b.size() - pos - 8));
    Reader dr{d};
    if (r.starts(pos, "VP8X") && d.size() >= 10) {  // flags(1) reserved(3) w-1(24) h-1(24)
      h.width = int64_t(dr.u24le(4)) + 1;
      h.height = int64_t(dr.u24le(7)) + 1;
      have_canvas = true;
    } else if (r.starts(pos, "VP8 ") && !have_canvas && d.size() >= 10 && d[3] == 0x9d && d[4] == 0x01 &&
               d[5] == 0x2a) {
      h.width = dr.u16(6) & 0x3fff;  // 14-bit width, 2-bit scale
      h.height = dr.u16(8) & 0x3fff;
      have_canvas = true;
    } else if (r.starts(pos, "VP8L") && !have_canvas && d.size() >= 5 && d[0] == 0x2f) {
      const uint32_t bits = dr.u32(1);  // 14 bits w-1, 14 bits h-1
      h.width = int64_t(bits & 0x3fff) + 1;
      h.height = int64_t((bits >> 14) & 0x3fff) + 1;
      have_canvas = true;
    } else if (r.starts(pos, "EXIF")) {
      h.orientation = exif_orientation(d);
    }
    if (!h.complete) return;
    pos += 8 + size_t(len) + (len & 1);
  }
}

void probe_bmp(std::span<const uint8_t> b, ImageHeader& h) {
  Reader r{b};
  const uint32_t dib = r.u32(14);
  if (dib == 12) {  // BITMAPCOREHEADER: 16-bit sizes
    h.width = r.u16(18);
    h.height = r.u16(20);
  } else if (dib >= 16) {  // BITMAPINFOHEADER and later: signed 32-bit
    h.width = int32_t(r.u32(18));
    h.height = std::abs(int64_t(int32_t(r.u32(22))));  // negative height = top-down rows
  }
  if (!r.ok || h.width <= 0) h.width = h.height = 0;
}

void probe_tiff(std::span<const uint8_t> b, ImageHeader& h) {
  TiffIfd0 ifd;
  if (!read_tiff_ifd0(b, ifd)) return;
  h.width = ifd.width;
  h.height = ifd.height;
  h.orientation = ifd.orientation;
}

// Formats we do not decode, by signature. GIF's logical screen size is read too, for the message.
ImageFormat unsupported_format(std::span<const uint8_t> b, ImageHeader& h) {
  Reader r{b};
  if (r.starts(0, "GIF87a") || r.starts(0, "GIF89a")) {
    h.width = r.u16(6);
    h.height = r.u16(8);
    return ImageFormat::kGif;
  }
  // ISO base media (HEIF/AVIF): a leading 'ftyp' box whose major brand names the format.
  if (r.starts(4, "ftyp")) {
    if (r.starts(8, "avif") || r.starts(8, "avis")) return ImageFormat::kAvif;
    for (std::string_view brand : {"heic"sv, "heix"sv, "hevc"sv, "heim"sv, "heis"sv, "mif1"sv, "msf1"sv})
      if (r.starts(8, brand)) return ImageFormat::kHeif;
  }
  if (r.starts(0, "\xFF\x0A"sv) || r.starts(0, "\0\0\0\x0CJXL \r\n\x87\n"sv)) return ImageFormat::kJpegXl;
  if (r.starts(0, "\0\0\0\x0CjP  \r\n\x87\n"sv) || r.starts(0, "\xFF\x4F\xFF\x51"sv))
    return ImageFormat::kJpeg2000;
  return ImageFormat::kUnknown;
}

}  // namespace

std::string_view image_format_name(ImageFormat f) {
  switch (f) {
    case ImageFormat::kJpeg:
      return "JPEG";
    case ImageFormat::kPng:
      return "PNG";
    case ImageFormat::kWebp:
      return "WebP";
    case ImageFormat::kBmp:
      return "BMP";
    case ImageFormat::kTiff:
      return "TIFF";
    case ImageFormat::kGif:
      return "GIF";
    case ImageFormat::kHeif:
      return "HEIF";
    case ImageFormat::kAvif:
      return "AVIF";
    case ImageFormat::kJpegXl:
      return "JPEG XL";
    case ImageFormat::kJpeg2000:
      return "JPEG 2000";
    case ImageFormat::kUnknown:
      break;
  }
  return "unknown";
}

bool image_format_decoded(ImageFormat f) {
  return f == ImageFormat::kJpeg || f == ImageFormat::kPng || f == ImageFormat::kWebp ||
         f == ImageFormat::kBmp || f == ImageFormat::kTiff;
}

int tiff_orientation(std::span<const uint8_t> tiff) {
  TiffIfd0 ifd;
  return read_tiff_ifd0(tiff, ifd) ? ifd.orientation : 1;
}

ImageHeader probe_image(std::span<const uint8_t> b) {
  ImageHeader h;
  const Reader r{b};
  if (r.starts(0, "\xFF\xD8\xFF"))
    h.format = ImageFormat::kJpeg, probe_jpeg(b, h);
  else if (r.starts(0, "\x89PNG\r\n\x1a\n"))
    h.format = ImageFormat::kPng, probe_png(b, h);
  else if (r.starts(0, "RIFF") && r.starts(8, "WEBP"))
    h.format = ImageFormat::kWebp, probe_webp(b, h);
  else if (r.starts(0, "BM"))
    h.format = ImageFormat::kBmp, probe_bmp(b, h);
  else if (r.starts(0, "II*\0"sv) || r.starts(0, "MM\0*"sv))
    h.format = ImageFormat::kTiff, probe_tiff(b, h);
  else
    h.format = unsupported_format(b, h);
  if (h.width <= 0 || h.height <= 0) h.width = h.height = 0;
  return h;
}

}  // namespace fvlm
