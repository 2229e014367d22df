// W2: many small tensors: N layers (5000 by default), each a 64x64 float32 kernel, a 64 bias and
// two attributes, in nested groups. h5ser against raw HDF5 C with default settings, raw HDF5 C
// tuned, and h5py with default settings (Debian's /usr/bin/python3, when it has h5py).
//
//     bench_many_small [layers=5000] [repetitions=5] [DIR=.]
#include <fcntl.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <vector>

#include <h5ser/h5ser.hpp>

#include "bench_common.hpp"

namespace {

struct Layer {
    h5ser::tensor<float, 2> kernel;
    h5ser::tensor<float, 1> bias;
    int units = 64;
    std::string activation = "relu";
};
struct Model {
    std::vector<Layer> layers;
};

// Raw HDF5: layers/<i>/{kernel, bias} with attributes units and activation on each layer group.
void raw_write(const std::string& path, const Model& m, bool tuned, bool durable = false) {
    const hid_t fapl = H5Pcreate(H5P_FILE_ACCESS);
    if (tuned) {
        H5Pset_libver_bounds(fapl, H5F_LIBVER_LATEST, H5F_LIBVER_LATEST);
        H5Pset_meta_block_size(fapl, 1 << 20);
        H5AC_cache_config_t config{};
        config.version = H5AC__CURR_CACHE_CONFIG_VERSION;
        H5Pget_mdc_config(fapl, &config);
        config.set_initial_size = 1;
        config.initial_size = 64 << 20;
        config.max_size = 128 << 20;
        H5Pset_mdc_config(fapl, &config);
    }
    const hid_t f = H5Fcreate(path.c_str(), H5F_ACC_TRUNC, H5P_DEFAULT, fapl);
    const hid_t layers = H5Gcreate2(f, "layers", H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
    const hsize_t kdims[2] = {64, 64}, bdims[1] = {64};
    const hid_t kspace = H5Screate_simple(2, kdims, nullptr), bspace = H5Screate_simple(1, bdims, nullptr), scalar = H5Screate(H5S_SCALAR);
    const hid_t dcpl = H5Pcreate(H5P_DATASET_CREATE);
    const hid_t small_dcpl = H5Pcreate(H5P_DATASET_CREATE);
    if (tuned) H5Pset_layout(small_dcpl, H5D_COMPACT);
    const hid_t str = H5Tcopy(H5T_C_S1);
    H5Tset_size(str, H5T_VARIABLE);
    H5Tset_cset(str, H5T_CSET_UTF8);
    for (std::size_t i = 0; i < m.layers.size(); ++i) {
        const hid_t g = H5Gcreate2(layers, std::to_string(i).c_str(), H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
        const hid_t k = H5Dcreate2(g, "kernel", H5T_IEEE_F32LE, kspace, H5P_DEFAULT, dcpl, H5P_DEFAULT);
        H5Dwrite(k, H5T_NATIVE_FLOAT, H5S_ALL, H5S_ALL, H5P_DEFAULT, m.layers[i].kernel.data());
        const hid_t b = H5Dcreate2(g, "bias", H5T_IEEE_F32LE, bspace, H5P_DEFAULT, small_dcpl, H5P_DEFAULT);
        H5Dwrite(b, H5T_NATIVE_FLOAT, H5S_ALL, H5S_ALL, H5P_DEFAULT, m.layers[i].bias.data());
        const hid_t units = H5Acreate2(g, "units", H5T_STD_I32LE, scalar, H5P_DEFAULT, H5P_DEFAULT);
        H5Awrite(units, H5T_NATIVE_INT, &m.layers[i].units);
        const hid_t act = H5Acreate2(g, "activation", str, scalar, H5P_DEFAULT, H5P_DEFAULT);
        const char* text = m.layers[i].activation.c_str();
        H5Awrite(act, str, &text);
        H5Aclose(act);
        H5Aclose(units);
        H5Dclose(b);
        H5Dclose(k);
        H5Gclose(g);
    }
    H5Tclose(str);
    H5Pclose(small_dcpl);
    H5Pclose(dcpl);
    H5Sclose(scalar);
    H5Sclose(bspace);
    H5Sclose(kspace);
    H5Gclose(layers);
    H5Fclose(f);
    if (durable) {  // what h5ser::save also does: the file is on disk when it returns
        const int fd = ::open(path.c_str(), O_RDONLY);
        ::fsync(fd);
        ::close(fd);
    }
    H5Pclose(fapl);
}

void raw_read(const std::string& path, Model& m) {
    const hid_t f = H5Fopen(path.c_str(), H5F_ACC_RDONLY, H5P_DEFAULT);
    const hid_t str = H5Tcopy(H5T_C_S1);
    H5Tset_size(str, H5T_VARIABLE);
    H5Tset_cset(str, H5T_CSET_UTF8);
    for (std::size_t i = 0; i < m.layers.size(); ++i) {
        const std::string g = "layers/" + std::to_string(i);
        const hid_t group = H5Gopen2(f, g.c_str(), H5P_DEFAULT);
        const hid_t k = H5Dopen2(group, "kernel", H5P_DEFAULT);
        H5Dread(k, H5T_NATIVE_FLOAT, H5S_ALL, H5S_ALL, H5P_DEFAULT, m.layers[i].kernel.data());
        const hid_t b = H5Dopen2(group, "bias", H5P_DEFAULT);
        H5Dread(b, H5T_NATIVE_FLOAT, H5S_ALL, H5S_ALL, H5P_DEFAULT, m.layers[i].bias.data());
        const hid_t units = H5Aopen(group, "units", H5P_DEFAULT);
        H5Aread(units, H5T_NATIVE_INT, &m.layers[i].units);
        const hid_t act = H5Aopen(group, "activation", H5P_DEFAULT);
        char* text = nullptr;
        H5Aread(act, str, &text);
        m.layers[i].activation = text;
        H5free_memory(text);
        H5Aclose(act);
        H5Aclose(units);
        H5Dclose(b);
        H5Dclose(k);
        H5Gclose(group);
    }
    H5Tclose(str);
    H5Fclose(f);
}

// h5py with default settings, timed inside Python; prints "save load" medians in seconds.
bool h5py_times(std::size_t layers, int reps, const std::string& path, double& save, double& load) {
    if (!std::filesystem::exists("/usr/bin/python3")) return false;
    const std::string script =
        "import h5py, numpy as np, time, statistics, sys\n"
        "n, reps, path = " +
        std::to_string(layers) + ", " + std::to_string(reps) + ", '" + path +
        "'\n"
        "k = np.arange(64*64, dtype='<f4').reshape(64, 64); b = np.arange(64, dtype='<f4')\n"
        "saves, loads = [], []\n"
        "for _ in range(reps):\n"
        "    t = time.perf_counter()\n"
        "    with h5py.File(path, 'w') as f:\n"
        "        for i in range(n):\n"
        "            g = f.create_group(f'layers/{i}'); g['kernel'] = k; g['bias'] = b\n"
        "            g.attrs['units'] = np.int32(64); g.attrs['activation'] = 'relu'\n"
        "    saves.append(time.perf_counter() - t)\n"
        "    t = time.perf_counter()\n"
        "    with h5py.File(path, 'r') as f:\n"
        "        for i in range(n):\n"
        "            g = f[f'layers/{i}']; g['kernel'][()]; g['bias'][()]; g.attrs['units']; g.attrs['activation']\n"
        "    loads.append(time.perf_counter() - t)\n"
        "print(statistics.median(saves), statistics.median(loads))\n";
    const std::string script_path = path + ".py";
    if (std::FILE* f = std::fopen(script_path.c_str(), "w")) {
        std::fputs(script.c_str(), f);
        std::fclose(f);
    }
    std::FILE* py = ::popen(("/usr/bin/python3 " + script_path + " 2>/dev/null").c_str(), "r");
    const bool ok = py && std::fscanf(py, "%lf %lf", &save, &load) == 2;
    if (py) ::pclose(py);
    std::filesystem::remove(script_path);
    return ok;
}

}  // namespace

int main(int argc, char** argv) {
    const std::size_t n = argc > 1 ? std::strtoul(argv[1], nullptr, 10) : 5000;
    const int reps = argc > 2 ? std::atoi(argv[2]) : 5;
    const std::filesystem::path dir = argc > 3 ? argv[3] : ".";
    Model model;
    for (std::size_t i = 0; i < n; ++i) {
        Layer l{h5ser::tensor<float, 2>({64, 64}), h5ser::tensor<float, 1>({64})};
        for (std::size_t j = 0; j < l.kernel.size(); ++j) l.kernel.data()[j] = static_cast<float>(i + j);
        model.layers.push_back(std::move(l));
    }
    const double bytes = static_cast<double>(n) * (64 * 64 + 64) * sizeof(float);
    const std::string h5 = (dir / "w2_h5ser.h5").string(), raw = (dir / "w2_raw.h5").string(), py = (dir / "w2_h5py.h5").string();
    std::printf("W2: %zu layers of a 64x64 kernel, a 64 bias and 2 attributes (%.1f MiB), %d interleaved rounds, medians\n", n,
                bytes / (1 << 20), reps);

    // Rounds interleave the programs (A B C, A B C, ...): this VM's speed drifts over minutes.
    using bench::row;
    const std::string raw_default_path = (dir / "w2_raw_default.h5").string(), raw_fsync_path = (dir / "w2_raw_fsync.h5").string();
    const auto saves_measured = bench::interleaved_medians(
        reps, {
                  {"raw HDF5 C, default settings", [&] { raw_write(raw_default_path, model, false); }},
                  {"raw HDF5 C, tuned (latest format, compact bias, metadata cache)", [&] { raw_write(raw, model, true); }},
                  {"h5ser::save (atomic, fsync, seal, checksums, schema)", [&] { h5ser::save(model, h5); }},
                  {"raw HDF5 C, tuned, + fsync (for reference)", [&] { raw_write(raw_fsync_path, model, true, true); }},
              });
    std::vector<row> saves = saves_measured;
    const row& raw_tuned = saves_measured[1];
    const row& ours = saves_measured[2];
    double py_save = 0, py_load = 0;
    const bool have_h5py = h5py_times(n, reps, py, py_save, py_load);
    if (have_h5py) saves.push_back({"h5py, default settings", py_save});
    bench::print("save", saves, bytes, raw_tuned);

    Model target = model;
    const auto loads_measured = bench::interleaved_medians(
        reps, {
                  {"raw HDF5 C read", [&] { raw_read(raw_default_path, target); }},
                  {"raw HDF5 C read (tuned file)", [&] { raw_read(raw, target); }},
                  {"h5ser::load<Model> (verified)", [&] { (void)h5ser::load<Model>(h5); }},
                  {"h5ser::load<Model, h5ser::no_verify>", [&] { (void)h5ser::load<Model, h5ser::no_verify>(h5); }},
                  {"h5ser::load<Model, h5ser::owned_memory> (through HDF5)", [&] { (void)h5ser::load<Model, h5ser::owned_memory>(h5); }},
              });
    std::vector<row> loads = loads_measured;
    const row& raw_load_tuned = loads_measured[1];
    const row& our_load = loads_measured[2];
    if (have_h5py) loads.push_back({"h5py, default settings", py_load});
    bench::print("load", loads, bytes, raw_load_tuned);
    std::printf("h5ser vs tuned raw HDF5: save %.2fx its speed (target >= 0.83x); verified load %.2fx its time (target <= 0.5x)\n",
                raw_tuned.seconds / ours.seconds, our_load.seconds / raw_load_tuned.seconds);
    if (have_h5py)
        std::printf("h5ser vs h5py: save %.2fx, load %.2fx faster (target >= 3x)\n", py_save / ours.seconds, py_load / our_load.seconds);
    else std::printf("h5py not found at /usr/bin/python3: no h5py baseline\n");
    for (const auto& p : {h5, raw, raw_default_path, raw_fsync_path, py}) std::filesystem::remove(p);
    return 0;
}
