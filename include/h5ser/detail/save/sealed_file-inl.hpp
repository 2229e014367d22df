// h5ser/detail/save/sealed_file-inl.hpp: definitions of h5ser/detail/save/sealed_file.hpp (compiled once
// with the compiled core; see h5ser/config.hpp).
#pragma once

#include "h5ser/detail/save/sealed_file.hpp"

namespace h5ser::detail {

H5SER_CORE_INLINE sealed_file_writer::sealed_file_writer(const std::string& path, std::size_t datasets, std::size_t manifest_bytes)
    : path_(path),
      at_{path_, {}, "/"},
      own_(std::in_place, path),
      owner_(&*own_),
      temp_(own_->temp_path()),
      userblock_(seal_userblock_size(datasets, manifest_bytes)),
      file_(create_for_writing(*own_, userblock_)),
      plists_(at_),
      root_(open_root(file_.get(), path_)),
      writeback_([this] { own_->start_writeback(); }) {}

H5SER_CORE_INLINE sealed_file_writer::sealed_file_writer(const std::string& path, const std::string& temp, std::uint64_t userblock,
                                                         hid_t fapl, atomic_file* owner)
    : path_(path),
      at_{path_, {}, "/"},
      owner_(owner),
      temp_(temp),
      userblock_(userblock),
      file_(create_hdf5_file(temp_, path_, userblock_, file_style::h5ser, fapl)),
      plists_(at_),
      root_(open_root(file_.get(), path_)) {}

H5SER_CORE_INLINE sealed_file_writer::sealed_file_writer(in_place_t, const std::string& path, std::size_t datasets,
                                                         std::size_t manifest_bytes)
    : path_(path),
      at_{path_, {}, "/"},
      temp_(path),
      userblock_(seal_userblock_size(datasets, manifest_bytes)),
      file_(create_hdf5_file(temp_, path_, userblock_, file_style::h5ser, scratch_file_access(at_).get())),
      plists_(at_),
      root_(open_root(file_.get(), path_)) {}

H5SER_CORE_INLINE handle scratch_file_access(const where& at) {
    handle fapl = writer_file_access(at);
    // A scratch file is mapped once and thrown away: every object on a 64-byte boundary, so that
    // every tensor of it is a view of the mapping (a saved file aligns only those of 64 KiB and more).
    check(H5Pset_alignment(fapl.get(), 1, 64), at, "H5Pset_alignment");
    return fapl;
}

H5SER_CORE_INLINE void add_dataset_record(manifest_builder& m, std::string_view h5_path, std::string_view dtype, const written_tensor& w,
                                          const storage_plan& plan) {
    std::uint64_t count = 1;
    for (std::size_t i = 0; i < w.rank; ++i) count *= w.dims[i];
    const record_layout layout = stored_layout(plan, w.rank, count, manifest_element_size(dtype));
    std::vector<std::uint32_t> filters;
    if (layout == record_layout::chunked)
        for (const auto& f : plan.filters) filters.push_back(static_cast<std::uint32_t>(f.id));
    const bool placed = layout == record_layout::contiguous && w.offset != HADDR_UNDEF && w.stored_bytes != 0;
    // Compact data is exactly the element bytes (known before the file is written: save_census).
    const std::uint64_t stored = layout == record_layout::compact ? count * manifest_element_size(dtype) : w.stored_bytes;
    m.dataset(h5_path, dtype, w.dims.data(), w.rank, layout, filters, placed ? w.offset : 0, stored, w.data_hash, w.elements);
}

H5SER_CORE_INLINE void sealed_file_writer::add_tensor(std::string_view h5_path, std::string_view dtype, const written_tensor& w,
                                                      const storage_plan& plan) {
    fingerprint_.add_tensor(h5_path, dtype, w.dims.data(), w.rank, w.data_hash);
    if (w.offset != HADDR_UNDEF && w.stored_bytes != 0) ranges_.push_back({w.offset, w.stored_bytes});
    add_dataset_record(manifest_, h5_path, dtype, w, plan);
    // Every 32 MiB of tensor data, the disk starts on what was written (the commit's fsync waits
    // for the rest). Serial saves only: an MPI save's ranks write through MPI-IO.
    unflushed_bytes_ += w.stored_bytes;
    if (own_ && unflushed_bytes_ >= (std::uint64_t{32} << 20)) {
        own_->start_writeback();
        unflushed_bytes_ = 0;
    }
}

H5SER_CORE_INLINE void add_stored_attribute(manifest_builder& m, hid_t object, std::string_view object_path, const std::string& name,
                                            const where& at) {
    const handle attr = checked(H5Aopen(object, name.c_str(), H5P_DEFAULT), at, "cannot open attribute");
    const handle type = checked(H5Aget_type(attr.get()), at, "H5Aget_type");
    const handle space = checked(H5Aget_space(attr.get()), at, "H5Aget_space");
    const extent shape = read_extent(space.get(), at);
    const std::size_t count = shape.count();
    const bool is_list = !shape.scalar;
    std::string dtype = describe_type(type.get());
    if (H5Tget_class(type.get()) == H5T_OPAQUE && H5Tget_size(type.get()) == 2) dtype = "bfloat16";  // attributes carry no marker
    std::string encoded;
    if (dtype == "string") {
        for (const std::string& e : read_strings(attr.get(), type.get(), space.get(), count, true, at)) encode_attribute_string(encoded, e);
    } else {
        const std::size_t size = manifest_element_size(dtype);
        if (size == 0 || H5Tget_size(type.get()) != size)
            throw error(
                std::string(at.file),
                problem{errc::dtype_mismatch, {}, std::string(object_path) + "/" + name, "an attribute of an h5ser dtype", dtype, {}});
        // Little-endian, as manifests keep elements: a copy of the stored type in that byte order.
        const handle little = checked(H5Tcopy(type.get()), at, "H5Tcopy");
        if (H5Tget_class(type.get()) == H5T_INTEGER || H5Tget_class(type.get()) == H5T_FLOAT)
            check(H5Tset_order(little.get(), H5T_ORDER_LE), at, "H5Tset_order");
        encoded.resize(count * size);
        if (count != 0) check(H5Aread(attr.get(), little.get(), encoded.data()), at, "cannot read attribute");
    }
    m.attribute(object_path, name, dtype, is_list, count, encoded);
}

H5SER_CORE_INLINE void sealed_file_writer::write_root_attributes(save_mode mode, std::string_view model_type, std::string_view schema) {
    mode_ = mode;
    const std::string fingerprint = fingerprint_.hex();
    detail::write_root_attributes(root_.get(), {mode, model_type, schema, fingerprint}, at_, plists_.attributes());
}

H5SER_CORE_INLINE void sealed_file_writer::close(bool flush_all) {
    root_.reset();
    if (flush_all) check(H5Fflush(file_.get(), H5F_SCOPE_GLOBAL), at_, "cannot flush the file");
    if (file_.close() < 0) throw_hdf5(at_, "cannot write the file", errc::io);
}

H5SER_CORE_INLINE void sealed_file_writer::seal_and_commit() {
    write_seal(temp_, userblock_, std::move(ranges_), manifest_.finish(mode_, carried_fingerprint_.value_or(fingerprint_.value())), path_);
    if (owner_) owner_->commit();
}

}  // namespace h5ser::detail
