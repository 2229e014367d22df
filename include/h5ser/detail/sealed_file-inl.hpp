// h5ser/detail/sealed_file-inl.hpp: definitions of h5ser/detail/sealed_file.hpp (compiled once
// with the compiled core; see h5ser/config.hpp).
#pragma once

#include "h5ser/detail/sealed_file.hpp"

namespace h5ser::detail {

H5SER_CORE_INLINE sealed_file_writer::sealed_file_writer(const std::string& path, std::size_t datasets)
    : path_(path), at_{path_, {}, "/"}, own_(std::in_place, path), owner_(&*own_), temp_(own_->temp_path()),
      userblock_(seal_userblock_size(datasets)), file_(create_for_writing(*own_, userblock_)), plists_(at_),
      root_(open_root(file_.get(), path_)) {}

H5SER_CORE_INLINE sealed_file_writer::sealed_file_writer(const std::string& path, const std::string& temp, std::uint64_t userblock, hid_t fapl,
                                                         atomic_file* owner)
    : path_(path), at_{path_, {}, "/"}, owner_(owner), temp_(temp), userblock_(userblock),
      file_(create_hdf5_file(temp_, path_, userblock_, file_style::h5ser, fapl)), plists_(at_),
      root_(open_root(file_.get(), path_)) {}

H5SER_CORE_INLINE void sealed_file_writer::add_tensor(std::string_view h5_path, std::string_view dtype, const written_tensor& w) {
    fingerprint_.add_tensor(h5_path, dtype, w.dims.data(), w.rank, w.data_hash);
    if (w.offset != HADDR_UNDEF && w.stored_bytes != 0) ranges_.push_back({w.offset, w.stored_bytes});
}

H5SER_CORE_INLINE void sealed_file_writer::write_root_attributes(save_mode mode, std::string_view model_type, std::string_view schema) {
    const std::string fingerprint = fingerprint_.hex();
    detail::write_root_attributes(root_.get(), {mode, model_type, schema, fingerprint}, at_, plists_.attributes());
}

H5SER_CORE_INLINE void sealed_file_writer::close(bool flush_all) {
    root_.reset();
    if (flush_all) check(H5Fflush(file_.get(), H5F_SCOPE_GLOBAL), at_, "cannot flush the file");
    if (file_.close() < 0) throw_hdf5(at_, "cannot write the file", errc::io);
}

H5SER_CORE_INLINE void sealed_file_writer::seal_and_commit() {
    write_seal(temp_, userblock_, std::move(ranges_), path_);
    if (owner_) owner_->commit();
}

}  // namespace h5ser::detail
