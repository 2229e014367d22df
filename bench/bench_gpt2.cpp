// W5: loading a GPT-2-small-shaped model (148 float32 tensors, 124,439,808 parameters, 498 MB),
// each load a whole fresh process of this same binary (start-up and dynamic linking count alike on
// every side), against the ways other formats load the same tensors:
//
//   mmap + touch        one byte per page of every tensor (safetensors' mechanism, nothing verified)
//   mmap + XXH3         every tensor hashed on the mapping (zero-copy, verified)
//   pread               every tensor read into a fresh 64-byte aligned buffer (POSIX)
//   raw HDF5 C          H5Dread of every dataset into a fresh buffer
//   h5py                every dataset into numpy (Debian's python3-h5py)
//   libtorch            torch::load's archive of the same tensors (bench_torch_io, built when
//                       Debian's libtorch-dev is installed)
//
// h5ser also loads the same model from the .safetensors file h5ser::safetensors::save wrote:
// verified (the fingerprint it keeps; the format has no checksums), against mmap + XXH3, and with
// h5ser::no_verify, against mmap + touch. That save is timed against the raw HDF5 save too.
//
// `h5ser convert` (the CLI, a fresh process each) is timed both ways between that .safetensors file
// and a sealed h5ser file, against `cp` of the same file plus `sync` of the copy (its fsync), and
// from that copy too (the same bytes, put in the page cache by a copy rather than by a save).
//
// mmap and pread read a flat file of the same tensors, each 64-byte aligned (as safetensors and GGUF
// lay theirs out); raw HDF5 C and h5py read h5ser's file.
// Rounds are interleaved; medians and ranges are printed, with ratios against the baselines.
// With --cold (root only), the page cache is dropped before every load. Saves are timed too,
// against raw HDF5 plus fsync.
//
//     bench_gpt2 [rounds] [dir] [--cold] [--tiny]
#include <fcntl.h>
#include <spawn.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#define XXH_INLINE_ALL  // the baseline hashes as h5ser does: libxxhash inlined
#include <xxhash.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <memory>
#include <string>
#include <vector>

#include <h5ser/h5ser.hpp>

#include "bench_common.hpp"
#include "gpt2_model.hpp"

extern char** environ;

namespace {

using bench::gpt2::Block;
using bench::gpt2::Gpt2;
using bench::gpt2::Linear;
using bench::gpt2::make_model;
using bench::gpt2::shape;

// ---- the loads, each in a fresh process -------------------------------------------------------

using bench::read_places;
using bench::tensor_place;
using bench::write_places;

/// Writes every dataset of the HDF5 file `file` into the flat file `flat`, each at a 64-byte
/// aligned offset, and returns where (the baselines' table; paths name the datasets in `file`).
std::vector<tensor_place> write_flat(const std::string& file, const std::string& flat) {
    std::vector<tensor_place> out;
    const hid_t f = H5Fopen(file.c_str(), H5F_ACC_RDONLY, H5P_DEFAULT);
    H5Ovisit(
        f, H5_INDEX_NAME, H5_ITER_NATIVE,
        [](hid_t, const char* name, const H5O_info_t* info, void* data) -> herr_t {
            if (info->type == H5O_TYPE_DATASET) static_cast<std::vector<tensor_place>*>(data)->push_back({std::string("/") + name, 0, 0});
            return 0;
        },
        &out);
    std::ofstream bin(flat, std::ios::binary | std::ios::trunc);
    std::uint64_t at = 0;
    for (auto& p : out) {
        const hid_t d = H5Dopen2(f, p.path.c_str(), H5P_DEFAULT);
        const hid_t space = H5Dget_space(d);
        p.bytes = static_cast<std::uint64_t>(H5Sget_simple_extent_npoints(space)) * sizeof(float);
        std::vector<char> buffer(p.bytes);
        H5Dread(d, H5T_NATIVE_FLOAT, H5S_ALL, H5S_ALL, H5P_DEFAULT, buffer.data());
        H5Sclose(space);
        H5Dclose(d);
        p.offset = (at + 63) / 64 * 64;
        bin.seekp(static_cast<std::streamoff>(p.offset));
        bin.write(buffer.data(), static_cast<std::streamsize>(buffer.size()));
        at = p.offset + p.bytes;
    }
    H5Fclose(f);
    bin.close();
    const int fd = ::open(flat.c_str(), O_RDONLY);
    ::fsync(fd);
    ::close(fd);
    return out;
}

volatile std::uint64_t sink = 0;

struct aligned_delete {
    void operator()(unsigned char* p) const noexcept { ::operator delete (p, std::align_val_t{64}); }
};
/// The baselines' fresh buffers, freed when the load ends, as a loaded model's tensors are.
using buffers = std::vector<std::unique_ptr<unsigned char, aligned_delete>>;

unsigned char* fresh_buffer(buffers& kept, std::uint64_t bytes) {
    kept.emplace_back(static_cast<unsigned char*>(::operator new (bytes, std::align_val_t{64})));
    return kept.back().get();
}

int load_in_this_process(const std::string& kind, const std::string& file, const std::string& places_file) {
    const std::string flat = places_file + ".bin";
    if (kind == "h5ser") {
        const auto m = h5ser::load<Gpt2>(file);
        sink = sink + m.h.size();
    } else if (kind == "h5ser-report") {  // the same strict load, with a report (#27: within noise of h5ser)
        h5ser::load_report report;
        const auto m = h5ser::load<Gpt2>(file, report);
        sink = sink + m.h.size() + report.renamed.size();
    } else if (kind == "h5ser-no-verify") {
        const auto m = h5ser::load<Gpt2, h5ser::no_verify>(file);
        sink = sink + m.h.size();
    } else if (kind == "h5ser-owned") {
        const auto m = h5ser::load<Gpt2, h5ser::owned_memory>(file);
        sink = sink + m.h.size();
    } else if (kind == "h5ser-safetensors") {  // the same tensors in a .safetensors file h5ser wrote: its fingerprint checked
        const auto m = h5ser::load<Gpt2>(places_file + ".safetensors");
        sink = sink + m.h.size();
    } else if (kind == "h5ser-safetensors-no-verify") {
        const auto m = h5ser::load<Gpt2, h5ser::no_verify>(places_file + ".safetensors");
        sink = sink + m.h.size();
    } else if (kind == "raw-hdf5") {
        const auto places = read_places(places_file);
        const hid_t f = H5Fopen(file.c_str(), H5F_ACC_RDONLY, H5P_DEFAULT);
        buffers kept;
        for (const auto& p : places) {
            const hid_t d = H5Dopen2(f, p.path.c_str(), H5P_DEFAULT);
            unsigned char* buffer = fresh_buffer(kept, p.bytes);
            if (H5Dread(d, H5T_NATIVE_FLOAT, H5S_ALL, H5S_ALL, H5P_DEFAULT, buffer) < 0) return 1;
            sink = sink + buffer[p.bytes / 2];
            H5Dclose(d);
        }
        H5Fclose(f);
    } else if (kind == "pread") {
        const auto places = read_places(places_file);
        const int fd = ::open(flat.c_str(), O_RDONLY);
        buffers kept;
        for (const auto& p : places) {
            unsigned char* buffer = fresh_buffer(kept, p.bytes);
            for (std::uint64_t done = 0; done < p.bytes;) {
                const ssize_t n = ::pread(fd, buffer + done, p.bytes - done, static_cast<off_t>(p.offset + done));
                if (n <= 0) return 1;
                done += static_cast<std::uint64_t>(n);
            }
            sink = sink + buffer[p.bytes / 2];
        }
        ::close(fd);
    } else if (kind == "mmap-touch" || kind == "mmap-xxh3") {
        const auto places = read_places(places_file);
        const int fd = ::open(flat.c_str(), O_RDONLY);
        struct stat st {};
        ::fstat(fd, &st);
        void* base = ::mmap(nullptr, static_cast<std::size_t>(st.st_size), PROT_READ, MAP_PRIVATE, fd, 0);
        ::close(fd);
        if (base == MAP_FAILED) return 1;
        const auto* bytes = static_cast<const unsigned char*>(base);
        for (const auto& p : places) {
            if (kind == "mmap-xxh3") {
                sink = sink + XXH3_64bits(bytes + p.offset, p.bytes);
            } else {
                for (std::uint64_t i = 0; i < p.bytes; i += 4096) sink = sink + bytes[p.offset + i];
            }
        }
        ::munmap(base, static_cast<std::size_t>(st.st_size));
    } else {
        return 2;
    }
    return 0;
}

/// Runs `argv` as a child process and waits for it, its standard output discarded when `quiet`;
/// aborts the benchmark if it fails.
void run_process(const std::vector<std::string>& args, bool quiet = false) {
    std::vector<char*> argv;
    for (const auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
    argv.push_back(nullptr);
    posix_spawn_file_actions_t actions;
    ::posix_spawn_file_actions_init(&actions);
    if (quiet) ::posix_spawn_file_actions_addopen(&actions, STDOUT_FILENO, "/dev/null", O_WRONLY, 0);
    pid_t pid = 0;
    const int spawned = ::posix_spawn(&pid, argv[0], &actions, nullptr, argv.data(), environ);
    ::posix_spawn_file_actions_destroy(&actions);
    if (spawned != 0) std::abort();
    int status = 0;
    ::waitpid(pid, &status, 0);
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
        std::fprintf(stderr, "%s %s failed\n", args[0].c_str(), args.size() > 2 ? args[2].c_str() : "");
        std::exit(1);
    }
}

void drop_page_cache() {
    ::sync();
    std::ofstream("/proc/sys/vm/drop_caches") << "3\n";
}

// ---- saves -----------------------------------------------------------------------------------

void raw_hdf5_save(const Gpt2& m, const std::string& path) {
    const hid_t f = H5Fcreate(path.c_str(), H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
    const auto write = [&](const char* name, const float* data, std::size_t rows, std::size_t cols) {
        const hsize_t dims[2] = {rows, cols};
        const hid_t space = H5Screate_simple(cols ? 2 : 1, dims, nullptr);
        const hid_t d = H5Dcreate2(f, name, H5T_IEEE_F32LE, space, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
        H5Dwrite(d, H5T_NATIVE_FLOAT, H5S_ALL, H5S_ALL, H5P_DEFAULT, data);
        H5Dclose(d);
        H5Sclose(space);
    };
    write("wte", m.wte.data(), m.wte.shape()[0], m.wte.shape()[1]);
    write("wpe", m.wpe.data(), m.wpe.shape()[0], m.wpe.shape()[1]);
    int i = 0;
    for (const Block& b : m.h) {
        const std::string p = "h" + std::to_string(i++) + "_";
        write((p + "ln_1_w").c_str(), b.ln_1.weight.data(), b.ln_1.weight.size(), 0);
        write((p + "ln_1_b").c_str(), b.ln_1.bias.data(), b.ln_1.bias.size(), 0);
        for (const Linear* l : {&b.attn.c_attn, &b.attn.c_proj, &b.mlp.c_fc, &b.mlp.c_proj}) {
            const std::string q = p + std::to_string(reinterpret_cast<std::uintptr_t>(l) % 9973);
            write((q + "w").c_str(), l->weight.data(), l->weight.shape()[0], l->weight.shape()[1]);
            write((q + "b").c_str(), l->bias.data(), l->bias.size(), 0);
        }
        write((p + "ln_2_w").c_str(), b.ln_2.weight.data(), b.ln_2.weight.size(), 0);
        write((p + "ln_2_b").c_str(), b.ln_2.bias.data(), b.ln_2.bias.size(), 0);
    }
    write("ln_f_w", m.ln_f.weight.data(), m.ln_f.weight.size(), 0);
    write("ln_f_b", m.ln_f.bias.data(), m.ln_f.bias.size(), 0);
    H5Fclose(f);
    const int fd = ::open(path.c_str(), O_RDONLY);
    ::fsync(fd);
    ::close(fd);
}

void print_rows(const char* title, const char* what, const std::vector<bench::row>& rows, const std::vector<std::string>& bases) {
    std::printf("\n%s\n%-34s %9s %19s", title, what, "median s", "range s");
    for (const auto& b : bases) std::printf("  x %-12s", b.c_str());
    std::printf("\n");
    for (const bench::row& row : rows) {
        std::printf("%-34s %9.3f %9.3f-%-9.3f", row.name.c_str(), row.seconds, row.fastest, row.slowest);
        for (const auto& b : bases) {
            const auto it = std::find_if(rows.begin(), rows.end(), [&](const bench::row& r) { return r.name == b; });
            std::printf("  %13.2f", row.seconds / it->seconds);
        }
        std::printf("\n");
    }
    std::printf("(x base: this row's median time / the base's; below 1 is faster)\n");
}

/// Runs each of `programs` once (warming the page cache and the binaries), then `rounds` interleaved
/// rounds, the page cache dropped before each run when `cold`, and prints their medians and ranges
/// under `title` with ratios against `bases` (print_rows).
void run_rounds(const std::vector<bench::program>& programs, int rounds, bool cold, const char* title, const char* what,
                const std::vector<std::string>& bases) {
    for (const auto& p : programs) p.run();
    print_rows(title, what, bench::interleaved_medians(rounds, programs, cold ? std::function<void()>(drop_page_cache) : nullptr), bases);
}

}  // namespace

int main(int argc, char** argv) {
    if (argc == 5 && std::strcmp(argv[1], "--load") == 0) return load_in_this_process(argv[2], argv[3], argv[4]);
    int rounds = 7;
    std::filesystem::path dir = ".";
    bool cold = false, tiny = false;
    int positional = 0;
    for (int i = 1; i < argc; ++i) {
        if (std::strcmp(argv[i], "--cold") == 0) cold = true;
        else if (std::strcmp(argv[i], "--tiny") == 0) tiny = true;
        else if (positional++ == 0) rounds = std::atoi(argv[i]);
        else dir = argv[i];
    }
    shape s;
    if (tiny) s = {500, 64, 64, 2};
    const Gpt2 model = make_model(s);
    const std::string file = (dir / "bench_gpt2.h5").string();
    const std::string places_file = (dir / "bench_gpt2.places").string();
    const std::string raw_file = (dir / "bench_gpt2_raw.h5").string();

    // Saves, interleaved: h5ser (atomic, sealed, fsynced) against raw HDF5 + fsync.
    const auto saves =
        bench::interleaved_medians(std::max(3, rounds / 2),
                                   {{"raw HDF5 C + fsync", [&] { raw_hdf5_save(model, raw_file); }},
                                    {"h5ser::save", [&] { h5ser::save(model, file); }},
                                    {"h5ser::safetensors::save", [&] { h5ser::safetensors::save(model, places_file + ".safetensors"); }}},
                                   [] { ::sync(); });
    std::uint64_t bytes = 0;
    const auto places = write_flat(file, places_file + ".bin");
    for (const auto& p : places) bytes += p.bytes;
    write_places(places_file, places);
    std::printf("W5: %zu tensors, %llu bytes of tensor data, file %llu bytes%s\n", places.size(), static_cast<unsigned long long>(bytes),
                static_cast<unsigned long long>(std::filesystem::file_size(file)), cold ? ", cold page cache" : ", warm page cache");
    bench::print("saves", saves, static_cast<double>(bytes), saves[0]);

    const std::string self = argv[0];
    std::vector<bench::program> programs;
    for (const char* kind : {"mmap-touch", "mmap-xxh3", "pread", "raw-hdf5", "h5ser", "h5ser-report", "h5ser-no-verify", "h5ser-owned",
                             "h5ser-safetensors", "h5ser-safetensors-no-verify"})
        programs.push_back({kind, [=] { run_process({self, "--load", kind, file, places_file}); }});
    const bool have_h5py = std::system("/usr/bin/python3 -c 'import h5py' 2>/dev/null") == 0;
    const std::string h5py_script =
        "import h5py,sys\nf=h5py.File(sys.argv[1],'r')\nout=[]\nf.visititems(lambda n,o: out.append(o[()]) if isinstance(o,h5py.Dataset) else None)\n";
    if (have_h5py) programs.push_back({"h5py", [=] { run_process({"/usr/bin/python3", "-c", h5py_script, file}); }});
#ifdef H5SER_BENCH_TORCH_IO
    const std::string torch_file = (dir / "bench_gpt2.pt").string();
    run_process({H5SER_BENCH_TORCH_IO, "save", places_file, places_file + ".bin", torch_file});
    programs.push_back({"libtorch", [=] { run_process({H5SER_BENCH_TORCH_IO, "load", torch_file, places_file}); }});
#else
    std::printf("\nno libtorch baseline: bench_torch_io is built when Debian's libtorch-dev is installed\n");
#endif
    run_rounds(programs, rounds, cold, cold ? "loads, cold page cache" : "loads, warm page cache", "load (fresh process)",
               {"mmap-touch", "mmap-xxh3", "pread", "raw-hdf5"});
#ifdef H5SER_BENCH_CLI
    // Conversions, each a fresh process, interleaved: h5ser convert both ways against cp + fsync of
    // the same file (sync FILE: coreutils' fsync of the copy). Each writes and fsyncs ~500 MB.
    {
        const std::string safetensors = places_file + ".safetensors", converted_h5 = places_file + ".converted.h5",
                          converted_st = places_file + ".converted.safetensors", copied = places_file + ".copy";
        std::vector<bench::program> conversions{{"cp + fsync",
                                                 [=] {
                                                     run_process({"/bin/sh", "-c", "cp \"$0\" \"$1\" && sync \"$1\"", safetensors, copied});
                                                 }},
                                                {"convert .safetensors -> .h5",
                                                 [=] {
                                                     run_process({H5SER_BENCH_CLI, "convert", safetensors, converted_h5}, true);
                                                 }},
                                                {"convert .h5 -> .safetensors",
                                                 [=] {
                                                     run_process({H5SER_BENCH_CLI, "convert", converted_h5, converted_st}, true);
                                                 }},
                                                // The same bytes as cp wrote them: the page cache
                                                // holds a file that a copy (or a download) wrote in
                                                // other pieces than one a save wrote, which mapped
                                                // reads felt (1.5x slower); copies do not.
                                                {"convert cp's copy -> .h5", [=] {
                                                     run_process({H5SER_BENCH_CLI, "convert", copied, converted_h5}, true);
                                                 }}};
        run_rounds(conversions, std::max(3, rounds / 2), cold, cold ? "conversions, cold page cache" : "conversions, warm page cache",
                   "conversion (fresh process)", {"cp + fsync"});
        for (const auto& f : {converted_h5, converted_st, copied}) std::filesystem::remove(f);
    }
#else
    std::printf("\nno conversion figures: bench_gpt2 times the h5ser tool when it is built (H5SER_BUILD_TOOLS)\n");
#endif
    std::filesystem::remove(raw_file);
    std::filesystem::remove(places_file);
    std::filesystem::remove(places_file + ".bin");
    std::filesystem::remove(places_file + ".safetensors");
    std::filesystem::remove(file);
#ifdef H5SER_BENCH_TORCH_IO
    std::filesystem::remove(torch_file);
#endif
    return 0;
}
