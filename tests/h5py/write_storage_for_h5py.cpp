// Writes files with each storage policy for check_storage.py to inspect with h5py.
#include <cstdio>
#include <string>

#include <h5ser/h5ser.hpp>

struct Sample {
    std::int64_t id;
    float loss;
    bool kept;
    std::array<double, 2> xy;
};

struct Shapes {
    h5ser::tensor<float, 2> square;      // 1000 x 1000
    h5ser::tensor<double, 1> line;       // 300000
    h5ser::tensor<std::int8_t, 3> cube;  // 100 x 200 x 300
    h5ser::tensor<float, 1> tiny;        // 16
};

int main(int argc, char** argv) {
    if (argc != 2) return 2;
    const std::string dir = argv[1];
    Shapes s{h5ser::tensor<float, 2>({1000, 1000}), h5ser::tensor<double, 1>({300000}), h5ser::tensor<std::int8_t, 3>({100, 200, 300}),
             h5ser::tensor<float, 1>({16})};
    for (std::size_t i = 0; i < s.square.size(); ++i) s.square.data()[i] = static_cast<float>(i % 251) * 0.5f;
    h5ser::save<h5ser::compressed>(s, dir + "/compact.h5");
    h5ser::save<h5ser::archival>(s, dir + "/archival.h5");
    h5ser::save<h5ser::fast>(s, dir + "/fast.h5");
    h5ser::save<h5ser::chunked<10, 20>, h5ser::deflate<7>>(s, dir + "/explicit.h5");  // 2-D tensors only
    h5ser::save<h5ser::lz4<>>(s, dir + "/lz4.h5");
    h5ser::save<h5ser::blosc<5, h5ser::blosc_codec::zstd>>(s, dir + "/blosc.h5");

    auto data = h5ser::data_file::create(dir + "/data.h5");
    auto images = data.create_rows<float, 2>("images", {28, 28});
    h5ser::tensor<float, 3> batch({10, 28, 28});
    for (std::size_t i = 0; i < batch.size(); ++i) batch.data()[i] = static_cast<float>(i);
    images.append(batch);
    auto log = data.create_rows<Sample, 0, h5ser::compressed>("log");
    for (std::int64_t i = 0; i < 3; ++i) log.append_row(Sample{i, 0.25f * static_cast<float>(i), i == 1, {static_cast<double>(i), -1.0}});
    return 0;
}
