// h5ser/detail/hdf5/dataset-inl.hpp: definitions of h5ser/detail/hdf5/dataset.hpp (compiled once with the compiled core; see
// h5ser/config.hpp).
#pragma once

#include <algorithm>

#include "h5ser/detail/hdf5/dataset.hpp"

namespace h5ser::detail {

H5SER_CORE_INLINE std::uint64_t read_and_hash(hid_t dataset, hid_t mem_type, void* buffer, std::size_t bytes, const where& at) {
    const auto read_whole = [&] {
        if (bytes != 0) check(H5Dread(dataset, mem_type, H5S_ALL, H5S_ALL, H5P_DEFAULT, buffer), at, "cannot read dataset");
        return hash_bytes(bytes ? buffer : static_cast<const void*>(""), bytes);
    };
    if (bytes < concurrent_hash::threshold) return read_whole();    // most tensors: no more HDF5 calls than that
    const bool contiguous = H5Dget_offset(dataset) != HADDR_UNDEF;  // chunks would be decoded once per piece
    H5Eclear2(H5E_DEFAULT);
    handle file_space = checked(H5Dget_space(dataset), at, "H5Dget_space");
    const int rank = H5Sget_simple_extent_ndims(file_space.get());
    if (!contiguous || rank < 1) return read_whole();
    std::vector<hsize_t> dims(static_cast<std::size_t>(rank));
    check(H5Sget_simple_extent_dims(file_space.get(), dims.data(), nullptr), at, "H5Sget_simple_extent_dims");
    constexpr std::size_t piece_bytes = std::size_t{64} << 20;
    const std::size_t row_bytes = bytes / dims[0];
    const hsize_t rows_per_piece = std::max<hsize_t>(1, piece_bytes / row_bytes);
    auto* out = static_cast<unsigned char*>(buffer);
    pipelined_hash hash(buffer, bytes);
    std::vector<hsize_t> start(dims.size(), 0);
    std::vector<hsize_t> count = dims;
    for (hsize_t row = 0; row < dims[0]; row += count[0]) {
        start[0] = row;
        count[0] = std::min(rows_per_piece, dims[0] - row);
        check(H5Sselect_hyperslab(file_space.get(), H5S_SELECT_SET, start.data(), nullptr, count.data(), nullptr), at,
              "H5Sselect_hyperslab");
        const handle piece = checked(H5Screate_simple(rank, count.data(), nullptr), at, "H5Screate_simple");
        check(H5Dread(dataset, mem_type, piece.get(), file_space.get(), H5P_DEFAULT, out + row * row_bytes), at, "cannot read dataset");
        hash.ready((row + count[0]) * row_bytes);
    }
    return hash.get();
}

H5SER_CORE_INLINE std::string shape_text(std::string_view dtype, const std::size_t* dims, std::size_t rank) {
    return std::string(dtype) + dims_text(dims, rank);
}

H5SER_CORE_INLINE handle make_dataspace(const hsize_t* dims, std::size_t rank, const where& at) {
    if (rank == 0) return checked(H5Screate(H5S_SCALAR), at, "H5Screate");
    return checked(H5Screate_simple(static_cast<int>(rank), dims, nullptr), at, "H5Screate_simple");
}

namespace dataset_detail {
inline constexpr std::string_view checksum_prefix = "xxh3-64:";
}  // namespace dataset_detail

H5SER_CORE_INLINE std::string checksum_text(std::uint64_t hash) { return std::string(dataset_detail::checksum_prefix) + to_hex(hash); }

H5SER_CORE_INLINE std::optional<std::uint64_t> checksum_value(std::string_view text) noexcept {
    if (text.substr(0, dataset_detail::checksum_prefix.size()) != dataset_detail::checksum_prefix) return std::nullopt;
    return from_hex(text.substr(dataset_detail::checksum_prefix.size()));
}

H5SER_CORE_INLINE void throw_missing_filter(const filter_spec& f, const where& at, const char* when) {
    throw error(std::string(at.file), problem{errc::missing_filter,
                                              at.field,
                                              at.h5_or_root(),
                                              {},
                                              {},
                                              std::string("the ") + std::string(f.name) + " filter (HDF5 filter " + std::to_string(f.id) +
                                                  ") is not available " + when + "; " + std::string(f.install)});
}

H5SER_CORE_INLINE void add_filters(hid_t dcpl, const std::vector<filter_spec>& filters, const where& at) {
    for (const auto& f : filters) {
        if (H5Zfilter_avail(f.id) <= 0) throw_missing_filter(f, at, "to write with");
        check(H5Pset_filter(dcpl, f.id, f.flags, f.values.size(), f.values.data()), at, "H5Pset_filter");
    }
}

H5SER_CORE_INLINE record_layout stored_layout(const storage_plan& plan, std::size_t rank, std::uint64_t count, std::size_t element_size) {
    const bool chunkable = rank > 0 && count > 0;  // HDF5 cannot chunk scalars and empty tensors
    if (chunkable && !(plan.layout == layout_kind::contiguous && plan.filters.empty())) return record_layout::chunked;
    return count * element_size < plan.compact_below ? record_layout::compact : record_layout::contiguous;
}

H5SER_CORE_INLINE hid_t unchunked_plist(const storage_plan& plan, const hsize_t* dims, std::size_t rank, std::size_t element_size,
                                        const creation_plists& plists) {
    std::uint64_t count = 1;
    for (std::size_t i = 0; i < rank; ++i) count *= dims[i];
    switch (stored_layout(plan, rank, count, element_size)) {
        case record_layout::chunked:
            return H5I_INVALID_HID;
        case record_layout::compact:
            return plists.compact.get();
        case record_layout::contiguous:
            break;
    }
    return plists.contiguous.get();
}

H5SER_CORE_INLINE handle dataset_plist(const storage_plan& plan, const hsize_t* dims, std::size_t rank, std::size_t element_size,
                                       const where& at) {
    handle dcpl = checked(H5Pcreate(H5P_DATASET_CREATE), at, "H5Pcreate(dataset)");
    // Every element is written right after creation: filling with zeros first would write twice.
    check(H5Pset_fill_time(dcpl.get(), H5D_FILL_TIME_NEVER), at, "H5Pset_fill_time");
    check(H5Pset_obj_track_times(dcpl.get(), false), at, "H5Pset_obj_track_times");  // as creation_plists
    std::vector<hsize_t> chunks;
    const bool explicit_chunks =
        plan.layout == layout_kind::chunked && !plan.chunk_dims.empty() && (plan.chunk_dims.size() == rank || plan.chunks_for_one_field);
    if (explicit_chunks) {
        if (plan.chunk_dims.size() != rank) {
            throw error(std::string(at.file), problem{errc::invalid_value,
                                                      at.field,
                                                      at.h5_or_root(),
                                                      "a chunk shape of rank " + std::to_string(rank),
                                                      "rank " + std::to_string(plan.chunk_dims.size()),
                                                      {}});
        }
        for (std::size_t i = 0; i < rank; ++i) chunks.push_back(std::max<hsize_t>(1, std::min<hsize_t>(dims[i], plan.chunk_dims[i])));
    } else {
        chunks = guess_chunks(std::vector<hsize_t>(dims, dims + rank), element_size);
    }
    check(H5Pset_chunk(dcpl.get(), static_cast<int>(rank), chunks.data()), at, "H5Pset_chunk");
    add_filters(dcpl.get(), plan.filters, at);
    return dcpl;
}

H5SER_CORE_INLINE handle create_tensor_dataset(hid_t parent, std::string_view name, hid_t file_type, const hsize_t* dims, std::size_t rank,
                                               const creation_plists& plists, const storage_plan& plan, const where& at, bool* compact,
                                               bool allocate_now) {
    handle space = make_dataspace(dims, rank, at);
    const std::size_t element_size = H5Tget_size(file_type);
    handle own_dcpl;
    hid_t dcpl = unchunked_plist(plan, dims, rank, element_size, plists);
    if (dcpl < 0) {
        own_dcpl = dataset_plist(plan, dims, rank, element_size, at);
        dcpl = own_dcpl.get();
    }
    if (compact) *compact = dcpl == plists.compact.get();
    if (allocate_now && dcpl == plists.contiguous.get()) dcpl = plists.contiguous_allocated.get();
    const std::string n(name);
    return checked(H5Dcreate2(parent, n.c_str(), file_type, space.get(), plists.link.get(), dcpl, H5P_DEFAULT), at,
                   "cannot create dataset");
}

H5SER_CORE_INLINE void write_tensor_attributes(hid_t dataset, bool bfloat16, const creation_plists& plists, const where& at) {
    if (bfloat16) write_attribute(dataset, format::dtype_marker_attribute, std::string(bfloat16_tag), at, plists.attributes());
}

H5SER_CORE_INLINE handle write_new_dataset(hid_t parent, std::string_view name, const element_block& e, const creation_plists& plists,
                                           const storage_plan& plan, const where& at) {
    handle dataset = create_tensor_dataset(parent, name, e.file_type, e.dims, e.rank, plists, plan, at);
    std::uint64_t count = 1;
    for (std::size_t i = 0; i < e.rank; ++i) count *= e.dims[i];
    const std::size_t element_size = H5Tget_size(e.memory_type);
    const std::uint64_t bytes = count * element_size;
    if (e.after_piece && *e.after_piece && e.rank > 0 && e.dims[0] > 1 && bytes >= written_in_pieces_from &&
        stored_layout(plan, e.rank, count, element_size) == record_layout::contiguous) {
        // Pieces of about 32 MiB of whole rows: the disk writes one while HDF5 copies the next.
        const std::uint64_t row = bytes / e.dims[0];
        const hsize_t rows = std::max<hsize_t>(1, (std::uint64_t{32} << 20) / row);
        handle file_space = checked(H5Dget_space(dataset.get()), at, "H5Dget_space");
        std::array<hsize_t, 32> start{}, extent{};
        for (std::size_t i = 1; i < e.rank; ++i) extent[i] = e.dims[i];
        for (hsize_t first = 0; first < e.dims[0]; first += rows) {
            start[0] = first;
            extent[0] = std::min<hsize_t>(rows, e.dims[0] - first);
            check(H5Sselect_hyperslab(file_space.get(), H5S_SELECT_SET, start.data(), nullptr, extent.data(), nullptr), at,
                  "H5Sselect_hyperslab");
            const handle memory_space = checked(H5Screate_simple(static_cast<int>(e.rank), extent.data(), nullptr), at, "H5Screate_simple");
            check(H5Dwrite(dataset.get(), e.memory_type, memory_space.get(), file_space.get(), H5P_DEFAULT,
                           static_cast<const unsigned char*>(e.data) + first * row),
                  at, "cannot write dataset");
            (*e.after_piece)();
        }
    } else if (count != 0) {
        check(H5Dwrite(dataset.get(), e.memory_type, H5S_ALL, H5S_ALL, H5P_DEFAULT, e.data), at, "cannot write dataset");
    }
    write_tensor_attributes(dataset.get(), e.bfloat16, plists, at);
    return dataset;
}

H5SER_CORE_INLINE void note_storage(hid_t dataset, written_tensor& out) {
    out.offset = H5Dget_offset(dataset);  // HADDR_UNDEF unless contiguous and allocated
    out.stored_bytes = H5Dget_storage_size(dataset);
    H5Eclear2(H5E_DEFAULT);
}

H5SER_CORE_INLINE void close_written_dataset(handle& dataset, written_tensor& out, const where& at) {
    note_storage(dataset.get(), out);
    if (dataset.close() < 0) throw_hdf5(at, "cannot write dataset", errc::io);
}

H5SER_CORE_INLINE dataset_view inspect_dataset(hid_t dataset, const where& at) {
    dataset_view v;
    v.type = checked(H5Dget_type(dataset), at, "H5Dget_type");
    handle space = checked(H5Dget_space(dataset), at, "H5Dget_space");
    v.shape = read_extent(space.get(), at);
    bool bfloat16_marked = false;
    if (H5Tget_class(v.type.get()) == H5T_OPAQUE) {
        const auto marker = read_string_attribute(dataset, format::dtype_marker_attribute, at);
        bfloat16_marked = marker && *marker == "bfloat16";
    }
    v.dtype = describe_type(v.type.get(), bfloat16_marked);
    v.stored_bytes = H5Dget_storage_size(dataset);
    // An allocated contiguous dataset in this file has an offset; external, virtual, compact and
    // chunked ones have none. Such a dataset has no filters and no external files, so the creation
    // plist, which HDF5 copies on every request, need not be read (a third of a small tensor's load).
    if (H5Dget_offset(dataset) != HADDR_UNDEF) {
        v.layout = H5D_CONTIGUOUS;
        return v;
    }
    H5Eclear2(H5E_DEFAULT);
    handle dcpl = checked(H5Dget_create_plist(dataset), at, "H5Dget_create_plist");
    v.layout = H5Pget_layout(dcpl.get());
    v.external_files = H5Pget_external_count(dcpl.get());
    v.filters = H5Pget_nfilters(dcpl.get());
    for (int i = 0; i < v.filters; ++i) {
        unsigned flags = 0;
        std::size_t count = 0;
        const H5Z_filter_t id = H5Pget_filter2(dcpl.get(), static_cast<unsigned>(i), &flags, &count, nullptr, 0, nullptr, nullptr);
        if (id >= 0) v.filter_ids.push_back(id);
        if (id >= 0 && H5Zfilter_avail(id) <= 0) v.missing_filter = describe_filter(id);
    }
    H5Eclear2(H5E_DEFAULT);
    return v;
}

H5SER_CORE_INLINE std::string unsafe_dataset_reason(const dataset_view& v, std::uint64_t declared_bytes) {
    if (v.layout == H5D_VIRTUAL) return "a virtual dataset (its data comes from other files)";
    if (v.external_files > 0) return "an external dataset (its data is kept in other files)";
    if (v.layout != H5D_CONTIGUOUS && v.layout != H5D_COMPACT && v.layout != H5D_CHUNKED) return "an unknown storage layout";
    if (declared_bytes == 0) return {};
    const bool plain = v.filters == 0 && v.layout != H5D_CHUNKED;
    if (plain && v.stored_bytes != declared_bytes)
        return "declares " + std::to_string(declared_bytes) + " bytes but stores " + std::to_string(v.stored_bytes) +
               " (truncated, or a shape bomb)";
    if (!plain && declared_bytes > v.stored_bytes * max_compression_ratio + (std::uint64_t{1} << 20))
        return "declares " + std::to_string(declared_bytes) + " bytes but stores only " + std::to_string(v.stored_bytes) +
               " (a shape bomb)";
    return {};
}

H5SER_CORE_INLINE bool dataset_is_readable(problem_list& problems, const dataset_view& view, std::size_t element_size, const where& at) {
    if (!view.missing_filter.empty()) {
        problems.add({errc::missing_filter, at.field, at.h5_or_root(), "filters this HDF5 can load", view.missing_filter,
                      "the dataset cannot be decompressed without it"});
        return false;
    }
    std::uint64_t count = 1;
    bool overflow = false;
    for (const hsize_t d : view.shape.dims) {
        overflow = overflow || (d != 0 && count > std::numeric_limits<std::uint64_t>::max() / element_size / d);
        count *= d;
    }
    const std::string unsafe =
        overflow ? std::string("an element count that overflows") : unsafe_dataset_reason(view, count * element_size);
    if (!unsafe.empty()) {
        problems.add({errc::unsafe_file, at.field, at.h5_or_root(), "a dataset stored in this file", unsafe, {}});
        return false;
    }
    return true;
}

H5SER_CORE_INLINE std::optional<std::string> stored_checksum(const manifest* contents, hid_t dataset, std::string_view h5_path,
                                                             const where& at) {
    if (!contents) return read_string_attribute(dataset, format::checksum_attribute, at);
    if (const manifest_record* r = contents->dataset(h5_path)) return checksum_text(r->checksum);
    return std::nullopt;
}

H5SER_CORE_INLINE bool keeps_unmatchable_checksum(const manifest* contents, hid_t dataset, std::string_view h5_path, const where& at) {
    const auto stored = stored_checksum(contents, dataset, h5_path, at);
    return stored && !checksum_value(*stored);
}

H5SER_CORE_INLINE bool verify_read_tensor(problem_list& problems, digest_list& fingerprint, const manifest* contents, hid_t dataset,
                                          std::uint64_t hash, std::string_view dtype, const std::uint64_t* dims, std::size_t rank,
                                          const where& at) {
    const auto stored = stored_checksum(contents, dataset, at.h5, at);
    if (contents && !stored) {
        problems.add({errc::checksum_mismatch, at.field, at.h5_or_root(), "a dataset listed in the file's manifest",
                      "a dataset it does not list", "the file was changed by another program since h5ser wrote it"});
        return false;
    }
    if (stored) {
        const std::string computed = checksum_text(hash);
        if (*stored != computed) {
            problems.add({errc::checksum_mismatch, at.field, at.h5_or_root(), "data with " + *stored, "data with " + computed,
                          "the data differs from what was saved (corruption or tampering)"});
            return false;
        }
    }
    fingerprint.add_tensor(at.h5, dtype, dims, rank, hash);
    return true;
}

H5SER_CORE_INLINE std::string read_elements(hid_t dataset, const dataset_view& view, hid_t mem_type, std::vector<unsigned char>& out) {
    std::uint64_t count = view.shape.null ? 0 : 1;
    for (const hsize_t d : view.shape.dims) count *= d;
    if (!view.missing_filter.empty()) return "needs filter " + view.missing_filter;
    if (std::string why = unsafe_dataset_reason(view, count * H5Tget_size(view.type.get())); !why.empty()) return why;
    handle own;
    if (mem_type < 0) {
        own = handle(H5Tcopy(view.type.get()));
        mem_type = own.get();
    }
    out.resize(count * H5Tget_size(mem_type));
    if (count != 0 && H5Dread(dataset, mem_type, H5S_ALL, H5S_ALL, H5P_DEFAULT, out.data()) < 0) {
        H5Eclear2(H5E_DEFAULT);
        return "cannot be read (HDF5 error)";
    }
    return {};
}

H5SER_CORE_INLINE written_tensor write_elements(hid_t parent, std::string_view name, written_tensor out, std::size_t count,
                                                std::size_t element_size, const element_block& e, const creation_plists& plists,
                                                const storage_plan& plan, const where& at) {
    const void* bytes = count ? e.data : static_cast<const void*>("");  // as element_bytes gives them
    concurrent_hash data_hash(bytes, count * element_size);             // while HDF5 writes
    handle dataset = write_new_dataset(parent, name, e, plists, plan, at);
    out.data_hash = data_hash.get();
    close_written_dataset(dataset, out, at);
    return out;
}

H5SER_CORE_INLINE written_tensor tensor_view::extent() const noexcept {
    written_tensor out;
    out.rank = rank;
    out.dims = dims;
    if (count != 0) out.elements = data;
    return out;
}

H5SER_CORE_INLINE written_tensor tensor_view::digest() const {
    written_tensor out = extent();
    out.data_hash = hash_bytes(element_bytes(), bytes());
    return out;
}

H5SER_CORE_INLINE written_tensor write_dataset(hid_t parent, std::string_view name, const tensor_view& tensor,
                                               const creation_plists& plists, const storage_plan& plan, const where& at,
                                               const std::function<void()>* after_piece) {
    std::array<hsize_t, dynamic_shape::max_rank> dims{};
    for (std::size_t i = 0; i < tensor.rank; ++i) dims[i] = static_cast<hsize_t>(tensor.dims[i]);
    const handle ftype = file_type(tensor.kind, at);
    const handle mtype = memory_type(tensor.kind, at);
    return write_elements(
        parent, name, tensor.extent(), static_cast<std::size_t>(tensor.count), tensor.element_size(),
        {ftype.get(), mtype.get(), dims.data(), tensor.rank, tensor.data, tensor.kind == element_kind::bfloat16, after_piece}, plists, plan,
        at);
}

}  // namespace h5ser::detail
