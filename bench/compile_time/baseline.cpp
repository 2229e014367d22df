// Compile-time baseline (bench/compile_time.sh): a translation unit that includes what a hand-written
// HDF5 save of a model would (<vector>, <string>, <map>, <hdf5.h>) and makes a few calls.
#include <hdf5.h>

#include <map>
#include <string>
#include <vector>

int main() {
    std::vector<float> weights(4, 0.5f);
    std::map<std::string, int> sizes{{"units", 4}};
    const hid_t file = H5Fcreate("m.h5", H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
    const hsize_t dims[1] = {weights.size()};
    const hid_t space = H5Screate_simple(1, dims, nullptr);
    const hid_t set = H5Dcreate2(file, "w", H5T_NATIVE_FLOAT, space, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
    H5Dwrite(set, H5T_NATIVE_FLOAT, H5S_ALL, H5S_ALL, H5P_DEFAULT, weights.data());
    H5Dclose(set);
    H5Sclose(space);
    return H5Fclose(file) + sizes["units"];
}
