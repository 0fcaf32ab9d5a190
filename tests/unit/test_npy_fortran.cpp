// core/npy: Fortran-order arrays (numpy writes them for transposed views) come back in C order.
#include <doctest/doctest.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>

#include "core/npy.h"
#include "tests/test_util.h"

using namespace fvlm;

TEST_CASE("npy: a Fortran-order 2x3 float32 array reads as the same array in C order") {
  const std::string path = test::temp_path("fortran_test.npy");
  std::string header = "{'descr': '<f4', 'fortran_order': True, 'shape': (2, 3), }";
  header.append(128 - 10 - header.size() - 1, ' ').push_back('\n');
  const float column_major[6] = {0, 10, 1, 11, 2, 12};  // a[i][j] = 10 i + j, first axis fastest
  {
    std::ofstream f(path, std::ios::binary);
    f.write("\x93NUMPY\x01\x00", 8);
    const uint16_t len = uint16_t(header.size());
    f.write(reinterpret_cast<const char*>(&len), 2);
    f.write(header.data(), std::streamsize(header.size()));
    f.write(reinterpret_cast<const char*>(column_major), sizeof column_major);
  }
  const Tensor t = read_npy(path);
  std::remove(path.c_str());
  REQUIRE(t.shape() == Shape{2, 3});
  for (int i = 0; i < 2; ++i)
    for (int j = 0; j < 3; ++j) CHECK(t.f32()[i * 3 + j] == float(10 * i + j));
}
