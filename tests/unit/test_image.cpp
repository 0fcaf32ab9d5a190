// Image decoding (core/image), header probing (core/image_header), the Pillow-exact resize
// (core/resize_pillow), preparation modes (core/image_prep) and AnyRes tiling (core/anyres).
#include <doctest/doctest.h>

#include <cstring>
#include <filesystem>
#include <random>

#include <opencv2/core.hpp>
#include <opencv2/imgcodecs.hpp>

#include "core/anyres.h"
#include "core/error.h"
#include "core/image.h"
#include "core/image_header.h"
#include "core/image_prep.h"
#include "core/npy.h"
#include "core/resize_pillow.h"
#include "core/resize_pillow_kernels.h"
#include "models/config.h"
#include "tests/test_util.h"

using namespace fvlm;

namespace {

using Bytes = std::vector<uint8_t>;

Image from_u8_tensor(const Tensor& t) {  // [H, W, 3] uint8
  Image im;
  im.height = int(t.dim(0));
  im.width = int(t.dim(1));
  const auto* p = static_cast<const uint8_t*>(t.data());
  im.rgb.assign(p, p + t.numel());
  return im;
}

int max_abs_diff(const Image& a, const Image& b) {
  REQUIRE(a.width == b.width);
  REQUIRE(a.height == b.height);
  int m = 0;
  for (size_t i = 0; i < a.rgb.size(); ++i) m = std::max(m, std::abs(int(a.rgb[i]) - int(b.rgb[i])));
  return m;
}

Image random_image(int w, int h, uint32_t seed) {
  std::mt19937 rng(seed);
  Image im = Image::black(w, h);
  for (auto& v : im.rgb) v = uint8_t(rng() >> 24);
  // Hard black/white edges exercise the negative lobes and the 8-bit clipping.
  for (int y = 0; y < h; y += 3) std::memset(im.row(y), (y / 3) % 2 ? 255 : 0, size_t(w) * 3);
  return im;
}

Bytes encode(const std::string& ext, const cv::Mat& m) {
  std::vector<uchar> buf;
  REQUIRE(cv::imencode(ext, m, buf));
  return Bytes(buf.begin(), buf.end());
}

Errc decode_error(const Bytes& b, int64_t max_pixels = kDefaultMaxPixels) {
  try {
    decode_image(b, "test-image", max_pixels);
  } catch (const Error& e) {
    CHECK(std::string(e.what()).find("test-image") != std::string::npos);  // names the file
    CHECK(std::string(e.what()).find('\n') == std::string::npos);          // one line
    return e.code();
  }
  return Errc::kInternal;  // "decoded fine" is reported as this sentinel
}

// An EXIF block (TIFF structure, big-endian) with one IFD0 entry: Orientation = `o`.
Bytes exif_tiff(int o) {
  return {'M', 'M', 0, 42, 0, 0, 0, 8, 0, 1, 0x01, 0x12, 0, 3, 0, 0, 0, 1, 0, uint8_t(o), 0, 0, 0, 0, 0, 0};
}

Bytes jpeg_with_orientation(const cv::Mat& bgr, int o) {
  Bytes jpg = encode(".jpg", bgr);
  Bytes app1 = {0xFF, 0xE1, 0, 0, 'E', 'x', 'i', 'f', 0, 0};
  const Bytes tiff = exif_tiff(o);
  app1.insert(app1.end(), tiff.begin(), tiff.end());
  app1[2] = uint8_t((app1.size() - 2) >> 8);
  app1[3] = uint8_t((app1.size() - 2) & 0xff);
  jpg.insert(jpg.begin() + 2, app1.begin(), app1.end());  // right after SOI
  return jpg;
}

uint32_t crc32(const uint8_t* p, size_t n) {
  uint32_t c = 0xffffffffu;
  for (size_t i = 0; i < n; ++i) {
    c ^= p[i];
    for (int k = 0; k < 8; ++k) c = (c >> 1) ^ (0xedb88320u & (0u - (c & 1)));
  }
  return ~c;
}

void put_be32(uint8_t* p, uint32_t v) {
  for (int i = 0; i < 4; ++i) p[i] = uint8_t(v >> (24 - 8 * i));
}

// A PNG chunk with a valid CRC, inserted right after IHDR (offset 33).
Bytes png_with_chunk(Bytes png, const char* type, const Bytes& data) {
  Bytes c(12 + data.size());
  put_be32(c.data(), uint32_t(data.size()));
  std::memcpy(c.data() + 4, type, 4);
  std::copy(data.begin(), data.end(), c.begin() + 8);
  put_be32(c.data() + 8 + data.size(), crc32(c.data() + 4, 4 + data.size()));
  png.insert(png.begin() + 33, c.begin(), c.end());
  return png;
}

cv::Vec3b bgr_at(const Image& im, int x, int y) {
  const uint8_t* p = im.row(y) + size_t(x) * 3;
  return {p[2], p[1], p[0]};
}

const std::vector<std::pair<std::string, std::string>> kGoldenImages = {
    {"wide", "wide.png"}, {"tall", "tall.png"}, {"tiny", "tiny_31x17.png"},
    {"gray", "gray.png"}, {"rgba", "rgba.png"}, {"square", "square.jpg"}};

}  // namespace

// ---------------------------------------------------------------------------------------------
// Golden preprocessing

TEST_CASE("image: golden images decode, pad and resize to resized_u8 exactly") {
  const ModelConfig cfg = load_model_config(test::golden("tiny/model/config.json"));
  for (const auto& [stem, file] : kGoldenImages) {
    CAPTURE(file);
    const Image img = load_image(test::golden("images/" + file));
    const Tensor ref = read_npy(test::golden("tiny/preprocess/" + stem + ".resized_u8.npy"));
    const int side = int(ref.dim(0));
    CHECK(side == cfg.vision.image_size);
    const Image fused = pad_and_resize(img, side);
    const Image two_step = resize_bicubic(pad_to_square(img), side, side);
    CHECK(max_abs_diff(fused, two_step) == 0);
    // square.jpg: OpenCV 4.6 and Pillow 9.4 both decode with Debian's libjpeg-turbo (default
    // islow IDCT, fancy upsampling), so even the JPEG is expected to match exactly.
    const int diff = max_abs_diff(fused, from_u8_tensor(ref));
    MESSAGE(file << ": max |diff| vs golden resized_u8 = " << diff);
    CHECK(diff == 0);
  }
}

TEST_CASE("image: to_pixel_values of the golden resized_u8 equals pixel_values bit-exactly") {
  for (const auto& [stem, file] : kGoldenImages) {
    CAPTURE(stem);
    const Tensor u8 = read_npy(test::golden("tiny/preprocess/" + stem + ".resized_u8.npy"));
    const Tensor ref = read_npy(test::golden("tiny/preprocess/" + stem + ".pixel_values.npy"));
    const Tensor px = to_pixel_values(from_u8_tensor(u8));
    REQUIRE(px.shape() == ref.shape());
    CHECK(std::memcmp(px.data(), ref.data(), size_t(ref.nbytes())) == 0);
  }
}

TEST_CASE("image: prepare_image(pad) equals the golden pixel_values for PNG inputs") {
  for (const auto& [stem, file] : kGoldenImages) {
    CAPTURE(stem);
    const Tensor ref = read_npy(test::golden("tiny/preprocess/" + stem + ".pixel_values.npy"));
    const Tensor px =
        prepare_image(load_image(test::golden("images/" + file)), ImageMode::kPad, int(ref.dim(1)));
    REQUIRE(px.shape() == ref.shape());
    CHECK(std::memcmp(px.data(), ref.data(), size_t(ref.nbytes())) == 0);
  }
}

// ---------------------------------------------------------------------------------------------
// The resampler

TEST_CASE("resize: matches Pillow 9.4 BICUBIC on a hand-made image") {
  // 7x3 input by formula; expected outputs produced once with Pillow 9.4.0
  // Image.fromarray(a).resize(size, Image.BICUBIC).
  Image a = Image::black(7, 3);
  for (int y = 0; y < 3; ++y)
    for (int x = 0; x < 7; ++x) {
      uint8_t* p = a.row(y) + x * 3;
      p[0] = uint8_t((x * 37 + y * 11) % 256);
      p[1] = (x + y) % 2 ? 255 : 0;
      p[2] = uint8_t(x * 40);
    }
  const std::vector<uint8_t> down = {30, 124, 29, 114, 128, 120, 198, 124, 211,
                                     46, 124, 29, 130, 128, 120, 214, 124, 211};
  CHECK(resize_bicubic(a, 3, 2).rgb == down);
  const std::vector<uint8_t> up = {
      0,   0,   0,   16,  155, 19,  45,  224, 50,  71,  0,   78,  97,  189, 106, 123, 189, 134, 149, 0,
      162, 175, 224, 190, 204, 155, 221, 223, 0,   242, 5,   178, 0,   23,  118, 19,  52,  93,  50,  78,
      177, 78,  104, 106, 106, 130, 106, 134, 156, 177, 162, 182, 93,  190, 211, 118, 221, 230, 178, 242,
      14,  178, 0,   33,  118, 19,  62,  93,  50,  88,  177, 78,  114, 106, 106, 140, 106, 134, 166, 177,
      162, 192, 93,  190, 221, 118, 221, 240, 178, 242, 21,  0,   0,   40,  155, 19,  69,  224, 50,  95,
      0,   78,  121, 189, 106, 147, 189, 134, 173, 0,   162, 199, 224, 190, 228, 155, 221, 247, 0,   242};
  CHECK(resize_bicubic(a, 10, 4).rgb == up);
}

TEST_CASE("resize: coefficient tables") {
  const ResampleAxis down = bicubic_axis(1000, 333);
  CHECK(down.taps == int(std::ceil(2.0 * 1000 / 333)) * 2 + 1);  // ksize = ceil(support) * 2 + 1
  const ResampleAxis up = bicubic_axis(17, 40);
  CHECK(up.taps == 5);
  for (const ResampleAxis* a : {&down, &up}) {
    for (int i = 0; i < a->out_size; ++i) {
      REQUIRE(a->count[i] > 0);
      CHECK(a->first[i] >= 0);
      CHECK(a->first[i] + a->count[i] <= a->in_size);
      int64_t sum = 0;
      for (int t = 0; t < a->taps; ++t) sum += a->weights[size_t(i) * a->taps + t];
      CHECK(std::abs(sum - (int64_t(1) << kPrecisionBits)) <= a->taps);  // normalised, rounded per tap
    }
  }
  // A constant image stays constant under any resize (weights sum to one, then 8-bit rounding).
  Image flat = Image::black(37, 23);
  std::fill(flat.rgb.begin(), flat.rgb.end(), uint8_t(200));
  for (auto [w, h] : {std::pair{5, 3}, {37, 50}, {100, 7}}) {
    const Image r = resize_bicubic(flat, w, h);
    CHECK(std::all_of(r.rgb.begin(), r.rgb.end(), [](uint8_t v) { return v == 200; }));
  }
  // Same size is the identity (Pillow skips the pass).
  const Image rnd = random_image(13, 9, 5);
  CHECK(resize_bicubic(rnd, 13, 9).rgb == rnd.rgb);
}

TEST_CASE("resize: every pass variant equals the scalar reference byte for byte") {
  using namespace resize_kernels;
  // Odd widths (tails of the 32-byte vertical loop), odd and even tap counts, strong downscales
  // (many taps), upscales, and output pixels at the very end of the buffer.
  const std::vector<std::array<int, 4>> cases = {{1, 1, 3, 2},    {7, 3, 10, 4},      {97, 61, 33, 17},
                                                 {700, 50, 7, 3}, {64, 64, 129, 131}, {4000, 9, 1024, 5},
                                                 {33, 35, 11, 12}};
  for (const Variant<HorizontalFn>& hv : horizontal_variants()) {
    const Variant<VerticalFn>& vv = vertical_variants()[&hv - horizontal_variants().data()];
    REQUIRE(vv.name == hv.name);  // the two tables list the same variants
    if (!cpu_has(hv.feature) || !cpu_has(vv.feature)) {
      MESSAGE("skip variant '", hv.name, "': this CPU lacks ", cpu_feature_name(hv.feature));
      continue;
    }
    uint32_t seed = 100;
    for (const auto& [w, h, ow, oh] : cases) {
      CAPTURE(hv.name);
      CAPTURE(w);
      CAPTURE(ow);
      const Image src = random_image(w, h, seed++);
      const ResampleAxis ha = bicubic_axis(w, ow), va = bicubic_axis(h, oh);
      Image t_ref = Image::black(ow, h), t_var = Image::black(ow, h);
      horizontal_rows_ref(view(src), view(ha), 0, mutable_view(t_ref), 0, h);
      hv.fn(view(src), view(ha), 0, mutable_view(t_var), 0, h);
      CHECK(t_ref.rgb == t_var.rgb);
      Image o_ref = Image::black(ow, oh), o_var = Image::black(ow, oh);
      vertical_rows_ref(view(t_ref), view(va), 0, mutable_view(o_ref), 0, oh);
      vv.fn(view(t_ref), view(va), 0, mutable_view(o_var), 0, oh);
      CHECK(o_ref.rgb == o_var.rgb);
    }
  }
}

TEST_CASE("resize: parallel resample equals the scalar reference, odd sizes and windows") {
  std::mt19937 rng(42);
  for (int iter = 0; iter < 24; ++iter) {
    const int w = 1 + int(rng() % 97), h = 1 + int(rng() % 97);
    const int ow = 1 + int(rng() % 131), oh = 1 + int(rng() % 131);
    CAPTURE(w);
    CAPTURE(h);
    CAPTURE(ow);
    CAPTURE(oh);
    const Image src = random_image(w, h, uint32_t(iter));
    const ResampleAxis ha = bicubic_axis(w, ow), va = bicubic_axis(h, oh);
    const Image ref = resample_separable_ref(src, ha, va);
    CHECK(resample_separable(src, ha, va).rgb == ref.rgb);
    // A window of the output equals the same crop of the full output.
    const int wx = int(rng() % ow), wy = int(rng() % oh);
    const Window win{wx, wy, 1 + int(rng() % (ow - wx)), 1 + int(rng() % (oh - wy))};
    const Image part = resize_bicubic(src, Placement{w, h, 0, 0}, ow, oh, win);
    for (int y = 0; y < win.h; ++y)
      CHECK(std::memcmp(part.row(y), ref.row(win.y + y) + size_t(win.x) * 3, size_t(win.w) * 3) == 0);
    // Pasting on a black canvas without building it equals building it.
    const int cw = w + int(rng() % 40), ch = h + int(rng() % 40);
    const int px = int(rng() % (cw - w + 1)), py = int(rng() % (ch - h + 1));
    Image canvas = Image::black(cw, ch);
    for (int y = 0; y < h; ++y) std::memcpy(canvas.row(py + y) + size_t(px) * 3, src.row(y), size_t(w) * 3);
    CHECK(resize_bicubic(src, Placement{cw, ch, px, py}, ow, oh, Window{0, 0, ow, oh}).rgb ==
          resize_bicubic(canvas, ow, oh).rgb);
  }
}

// ---------------------------------------------------------------------------------------------
// Preparation modes

TEST_CASE("image_prep: pad_to_square geometry") {
  const Image img = random_image(5, 2, 1);
  const Image sq = pad_to_square(img);
  REQUIRE(sq.width == 5);
  REQUIRE(sq.height == 5);
  // paste at ((5-5)//2, (5-2)//2) = (0, 1)
  CHECK(std::all_of(sq.row(0), sq.row(1), [](uint8_t v) { return v == 0; }));
  CHECK(std::memcmp(sq.row(1), img.row(0), 15) == 0);
  CHECK(std::memcmp(sq.row(2), img.row(1), 15) == 0);
  CHECK(std::all_of(sq.row(3), sq.row(3) + 30, [](uint8_t v) { return v == 0; }));
  const Image tall = pad_to_square(random_image(2, 5, 2));
  CHECK(tall.width == 5);
  CHECK(bgr_at(tall, 0, 0) == cv::Vec3b(0, 0, 0));  // image at x = (5-2)//2 = 1
}

TEST_CASE("image_prep: crop mode = shortest-edge resize then centre crop") {
  const Image wide = load_image(test::golden("images/wide.png"));  // 320x180
  const int s = 256;
  // short 180 -> 256, long int(256 * 320 / 180) = int(455.1) = 455; left = (455 - 256) // 2 = 99
  const Image full = resize_bicubic(wide, 455, 256);
  const Image crop = resize_and_center_crop(wide, s);
  REQUIRE(crop.width == s);
  REQUIRE(crop.height == s);
  for (int y = 0; y < s; ++y) CHECK(std::memcmp(crop.row(y), full.row(y) + 99 * 3, size_t(s) * 3) == 0);
  const Image tall = load_image(test::golden("images/tall.png"));  // 150x400
  // short 150 -> 256, long int(256 * 400 / 150) = int(682.67) = 682; top = (682 - 256) // 2 = 213
  const Image tfull = resize_bicubic(tall, 256, 682);
  const Image tcrop = resize_and_center_crop(tall, s);
  for (int y = 0; y < s; ++y) CHECK(std::memcmp(tcrop.row(y), tfull.row(213 + y), size_t(s) * 3) == 0);
  const Tensor t = prepare_image(wide, ImageMode::kCrop, s);
  CHECK(t.shape() == Shape{3, s, s});
}

TEST_CASE("image_prep: resolutions 256 and 320 give consistent tensors - others are refused") {
  const Image img = load_image(test::golden("images/wide.png"));
  double first_mean = -1;
  for (int r : {256, 320}) {
    const Tensor t = prepare_image(img, ImageMode::kPad, r);
    REQUIRE(t.shape() == Shape{3, r, r});
    // wide 320x180 padded to 320x320: rows [70, 250) of 320 hold the image, the rest is black.
    const float* red = t.f32();
    const int top = int(r * 60 / 320), bottom = int(r * 260 / 320);  // well inside the black bands
    for (int x = 0; x < r; ++x) {
      CHECK(red[size_t(top - 8) * r + x] == 0.0f);
      CHECK(red[size_t(bottom + 8) * r + x] == 0.0f);
    }
    double mean = 0;
    for (int64_t i = 0; i < t.numel(); ++i) mean += t.f32()[i];
    mean /= double(t.numel());
    if (first_mean < 0) first_mean = mean;
    CHECK(std::abs(mean - first_mean) < 2.0 / 255);  // same picture at another scale
  }
  for (int bad : {0, -64, 100, 1000}) {
    CAPTURE(bad);
    CHECK_THROWS_AS(prepare_image(img, ImageMode::kPad, bad), Error);
    try {
      prepare_image(img, ImageMode::kPad, bad);
    } catch (const Error& e) {
      CHECK(e.code() == Errc::kBadArgs);
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Decoding

TEST_CASE("image: EXIF orientation is applied (JPEG APP1 and PNG eXIf)") {
  // 32x16, one pure red 8x8 block at the top-left corner (JPEG-robust).
  cv::Mat m(16, 32, CV_8UC3, cv::Scalar(0, 0, 0));
  m(cv::Rect(0, 0, 8, 8)).setTo(cv::Scalar(0, 0, 255));
  ImageHeader h = probe_image(jpeg_with_orientation(m, 6));
  CHECK(h.format == ImageFormat::kJpeg);
  CHECK(h.width == 32);
  CHECK(h.height == 16);
  CHECK(h.orientation == 6);
  // 6 = rotate 90 clockwise: the top-left block goes to the top-right of a 16x32 image.
  const Image r6 = decode_image(jpeg_with_orientation(m, 6), "o6.jpg", kDefaultMaxPixels);
  REQUIRE(r6.width == 16);
  REQUIRE(r6.height == 32);
  CHECK(bgr_at(r6, 12, 3)[2] > 200);
  CHECK(bgr_at(r6, 3, 3)[2] < 50);
  // 8 = rotate 90 counter-clockwise: to the bottom-left.
  const Image r8 = decode_image(jpeg_with_orientation(m, 8), "o8.jpg", kDefaultMaxPixels);
  REQUIRE(r8.width == 16);
  CHECK(bgr_at(r8, 3, 28)[2] > 200);
  // 1 = as stored.
  const Image r1 = decode_image(jpeg_with_orientation(m, 1), "o1.jpg", kDefaultMaxPixels);
  CHECK(r1.width == 32);
  CHECK(bgr_at(r1, 3, 3)[2] > 200);
  // PNG eXIf chunk, orientation 3 = rotate 180: exact pixels.
  const Bytes png = png_with_chunk(encode(".png", m), "eXIf", exif_tiff(3));
  CHECK(probe_image(png).orientation == 3);
  const Image p3 = decode_image(png, "o3.png", kDefaultMaxPixels);
  REQUIRE(p3.width == 32);
  CHECK(bgr_at(p3, 31, 15) == cv::Vec3b(0, 0, 255));
  CHECK(bgr_at(p3, 0, 0) == cv::Vec3b(0, 0, 0));
}

TEST_CASE("image: gray, RGBA and 16-bit inputs convert like PIL convert(\"RGB\")") {
  const Image gray = load_image(test::golden("images/gray.png"));
  for (size_t i = 0; i < gray.rgb.size(); i += 3) {
    CHECK(gray.rgb[i] == gray.rgb[i + 1]);
    CHECK(gray.rgb[i] == gray.rgb[i + 2]);
  }
  // RGBA: alpha is dropped, a fully transparent pixel keeps its colour (no compositing).
  cv::Mat bgra(2, 2, CV_8UC4, cv::Scalar(10, 20, 30, 0));
  bgra.at<cv::Vec4b>(1, 1) = cv::Vec4b(1, 2, 3, 255);
  const Image rgba = decode_image(encode(".png", bgra), "a.png", kDefaultMaxPixels);
  CHECK(rgba.rgb == std::vector<uint8_t>{30, 20, 10, 30, 20, 10, 30, 20, 10, 3, 2, 1});
  // 16-bit colour: the high byte (PIL's "RGB;16B" unpacking truncates).
  cv::Mat m16(1, 2, CV_16UC3);
  m16.at<cv::Vec3w>(0, 0) = cv::Vec3w(0xffff, 0x0180, 0x12ff);  // B, G, R
  m16.at<cv::Vec3w>(0, 1) = cv::Vec3w(0x00ff, 0x7f7f, 0x8000);
  const Image c16 = decode_image(encode(".png", m16), "c16.png", kDefaultMaxPixels);
  CHECK(c16.rgb == std::vector<uint8_t>{0x12, 0x01, 0xff, 0x80, 0x7f, 0x00});
  cv::Mat g16(1, 2, CV_16UC1);
  g16.at<uint16_t>(0, 0) = 0xabcd;
  g16.at<uint16_t>(0, 1) = 0x00ff;
  const Image gr16 = decode_image(encode(".png", g16), "g16.png", kDefaultMaxPixels);
  CHECK(gr16.rgb == std::vector<uint8_t>{0xab, 0xab, 0xab, 0, 0, 0});
  // The other containers decode to the same pixels (lossless ones exactly).
  cv::Mat bgr(5, 7, CV_8UC3);
  cv::randu(bgr, 0, 256);
  const Image png = decode_image(encode(".png", bgr), "x.png", kDefaultMaxPixels);
  for (const char* ext : {".bmp", ".tiff", ".webp"}) {
    CAPTURE(ext);
    const Bytes b = encode(ext, bgr);
    const ImageHeader h = probe_image(b);
    CHECK(h.width == 7);
    CHECK(h.height == 5);
    const Image d = decode_image(b, std::string("x") + ext, kDefaultMaxPixels);
    if (ext != std::string(".webp")) CHECK(d.rgb == png.rgb);  // cv::imencode WebP is lossy by default
  }
}

TEST_CASE("image: empty, corrupt, truncated and unknown data -> bad_image") {
  CHECK(decode_error({}) == Errc::kBadImage);
  CHECK(decode_error({'h', 'e', 'l', 'l', 'o'}) == Errc::kBadImage);
  const std::string jpg_bytes = test::file_bytes(test::golden("images/square.jpg"));
  const Bytes jpg(jpg_bytes.begin(), jpg_bytes.end());
  REQUIRE(jpg.size() > 1000);
  CHECK(decode_error(Bytes(jpg.begin(), jpg.begin() + jpg.size() / 2)) == Errc::kBadImage);  // truncated
  CHECK(decode_error(Bytes(jpg.begin(), jpg.begin() + 100)) == Errc::kBadImage);             // header only
  cv::Mat m(40, 40, CV_8UC3);
  cv::randu(m, 0, 256);
  const Bytes png = encode(".png", m);
  CHECK(decode_error(Bytes(png.begin(), png.begin() + png.size() - 30)) == Errc::kBadImage);
  Bytes broken = png;
  for (size_t i = 60; i < broken.size() - 20; ++i) broken[i] ^= 0x5a;  // scrambled IDAT
  CHECK(decode_error(broken) == Errc::kBadImage);
  for (const char* ext : {".bmp", ".tiff", ".webp", ".png", ".jpg"}) {  // every container, cut short
    CAPTURE(ext);
    const Bytes full = encode(ext, m);
    for (size_t keep : {size_t(20), full.size() / 2, full.size() * 9 / 10})
      CHECK(decode_error(Bytes(full.begin(), full.begin() + keep)) == Errc::kBadImage);
  }
  // load_image: missing file and directory.
  try {
    load_image("/nonexistent/dir/x.png");
    FAIL("no error");
  } catch (const Error& e) {
    CHECK(e.code() == Errc::kNotFound);
  }
  try {
    load_image(std::filesystem::temp_directory_path().string());
    FAIL("no error");
  } catch (const Error& e) {
    CHECK(e.code() == Errc::kBadArgs);
  }
}

TEST_CASE("image: a header claiming 30000x30000 -> too_large before decoding") {
  // Headers only, no pixel data: decoding would fail as bad_image, so too_large proves the
  // limit is checked from the header first.
  const Bytes png = {0x89, 'P',  'N',  'G', '\r', '\n', 0x1a, '\n', 0, 0, 0, 13, 'I', 'H', 'D', 'R', 0,
                     0,    0x75, 0x30, 0,   0,    0x75, 0x30, 8,    2, 0, 0, 0,  0,   0,   0,   0};
  const Bytes jpeg = {0xFF, 0xD8, 0xFF, 0xC0, 0, 17,   8, 0x75, 0x30, 0x75, 0x30,
                      3,    1,    0x11, 0,    2, 0x11, 1, 3,    0x11, 1};
  Bytes bmp = {'B', 'M', 0, 0, 0, 0,    0,    0, 0, 0,    54,   0,    0,
               0,   40,  0, 0, 0, 0x30, 0x75, 0, 0, 0xd0, 0x8a, 0xff, 0xff};
  const Bytes webp = {'R', 'I', 'F', 'F', 30, 0, 0, 0, 'W', 'E',  'B',  'P', 'V',  'P',  '8',
                      'X', 10,  0,   0,   0,  0, 0, 0, 0,   0x2f, 0x75, 0,   0x2f, 0x75, 0};
  const Bytes tiff = {'I',  'I', 42, 0, 8, 0, 0, 0, 2, 0, 0, 1,    4,    0, 1, 0, 0, 0, 0x30,
                      0x75, 0,   0,  1, 1, 4, 0, 1, 0, 0, 0, 0x30, 0x75, 0, 0, 0, 0, 0, 0};
  for (const Bytes* b : std::vector<const Bytes*>{&png, &jpeg, &bmp, &webp, &tiff}) {
    const ImageHeader h = probe_image(*b);
    CAPTURE(image_format_name(h.format));
    CHECK(h.width == 30000);
    CHECK(h.height == 30000);  // BMP: negative height = top-down, same size
    CHECK(decode_error(*b) == Errc::kTooLarge);
  }
  // Under the limit the same bytes are simply undecodable.
  CHECK(decode_error(png, 2'000'000'000) == Errc::kBadImage);
  // And the limit is honoured for a real image.
  cv::Mat m(40, 50, CV_8UC3, cv::Scalar(1, 2, 3));
  CHECK(decode_error(encode(".png", m), 1999) == Errc::kTooLarge);
  CHECK(decode_image(encode(".png", m), "ok.png", 2000).width == 50);
}

// ---------------------------------------------------------------------------------------------
// AnyRes

TEST_CASE("anyres: select_best_resolution on hand-computed cases") {
  const std::vector<Resolution> c = {{100, 200}, {200, 100}, {200, 200}, {300, 100}, {100, 300}};
  // 400x200: (200,100) keeps 200x100 = 20000 px with no waste; (200,200) and (300,100) keep as
  // much but waste 20000 / 10000.
  CHECK(select_best_resolution({400, 200}, c) == Resolution{200, 100});
  // 50x50: every candidate keeps all 2500 px (upscaling adds nothing); least waste is 100x200
  // (first of the two 20000-px candidates).
  CHECK(select_best_resolution({50, 50}, c) == Resolution{100, 200});
  // 1000x100: (300,100) scale 0.3 keeps 300x30 = 9000 px; (200,*) keep 200x20 = 4000.
  CHECK(select_best_resolution({1000, 100}, c) == Resolution{300, 100});
  // 100x1000: mirrored.
  CHECK(select_best_resolution({100, 1000}, c) == Resolution{100, 300});
  // 300x300: (200,200) keeps 40000; the others 100x100 = 10000.
  CHECK(select_best_resolution({300, 300}, c) == Resolution{200, 200});
}

TEST_CASE("anyres: views are the squashed global image then row-major tiles") {
  const Image img = random_image(400, 200, 7);
  const int r = 64;
  const AnyresViews v = process_anyres_image(img, r, anyres_default_pinpoints(r));
  // 400x200 -> best (128, 64): a 2x1 grid.
  CHECK(v.grid_cols == 2);
  CHECK(v.grid_rows == 1);
  REQUIRE(v.views.size() == 3);
  CHECK(v.views[0].rgb == resize_bicubic(img, r, r).rgb);     // squashed, not padded
  const Image padded = resize_and_pad_image(img, {128, 64});  // exact fit: 128x64, no padding
  CHECK(padded.rgb == resize_bicubic(img, 128, 64).rgb);
  for (int t = 0; t < 2; ++t)
    for (int y = 0; y < r; ++y)
      CHECK(std::memcmp(v.views[1 + t].row(y), padded.row(y) + size_t(t) * r * 3, size_t(r) * 3) == 0);

  // Forced 3x2 grid: target 192x128; scale_w 0.48 < scale_h 0.64 -> resized 192x96 pasted at
  // y = (128 - 96) // 2 = 16.
  const AnyresViews g = process_anyres_grid(img, r, 3, 2);
  CHECK(g.grid_cols == 3);
  CHECK(g.grid_rows == 2);
  REQUIRE(g.views.size() == 7);
  const Image resized = resize_bicubic(img, 192, 96);
  auto black_row = [&](const Image& im, int y) {
    return std::all_of(im.row(y), im.row(y) + size_t(im.width) * 3, [](uint8_t b) { return b == 0; });
  };
  for (int t = 1; t <= 3; ++t) {
    CHECK(black_row(g.views[t], 15));
    CHECK(std::memcmp(g.views[t].row(16), resized.row(0) + size_t(t - 1) * r * 3, size_t(r) * 3) == 0);
  }
  for (int t = 4; t <= 6; ++t) {
    CHECK(std::memcmp(g.views[t].row(47), resized.row(95) + size_t(t - 4) * r * 3, size_t(r) * 3) == 0);
    CHECK(black_row(g.views[t], 48));
  }
  for (const Image& view : g.views) {
    CHECK(view.width == r);
    CHECK(view.height == r);
  }
  const Tensor t = prepare_image(img, ImageMode::kTiles, r);
  CHECK(t.shape() == Shape{3, 3, r, r});
  CHECK_THROWS_AS(process_anyres_grid(img, r, 0, 2), Error);
}

TEST_CASE("anyres: divide_to_patches pads partial patches with black") {
  const Image img = random_image(5, 3, 9);
  const auto p = divide_to_patches(img, 4);
  REQUIRE(p.size() == 2);
  CHECK(std::memcmp(p[1].row(0), img.row(0) + 12, 3) == 0);
  CHECK(p[1].row(0)[3] == 0);
  CHECK(std::all_of(p[0].row(3), p[0].row(3) + 12, [](uint8_t b) { return b == 0; }));
}

// ---------------------------------------------------------------------------------------------
// samples/

TEST_CASE("samples: every sample image decodes - the EXIF-rotated cat comes out upright") {
  int n = 0;
  for (const auto& e : std::filesystem::directory_iterator(test::source_dir() + "/samples")) {
    const std::string ext = e.path().extension().string();
    if (ext != ".jpg" && ext != ".png") continue;
    CAPTURE(e.path().string());
    const Image img = load_image(e.path().string());
    CHECK(img.width >= 300);
    CHECK(img.height >= 300);
    ++n;
  }
  CHECK(n >= 8);
  const Image upright = load_image(test::source_dir() + "/samples/chelsea.jpg");
  const Image rotated = load_image(test::source_dir() + "/samples/chelsea_exif_rot6.jpg");
  REQUIRE(rotated.width == upright.width);  // 451x300 once orientation 6 is applied
  REQUIRE(rotated.height == upright.height);
  // Same picture, two JPEG encodings: close on average (a wrong rotation or mirror is far off).
  double sum = 0;
  for (size_t i = 0; i < upright.rgb.size(); ++i) sum += std::abs(int(upright.rgb[i]) - int(rotated.rgb[i]));
  CHECK(sum / double(upright.rgb.size()) < 4.0);
}
