// h5ser/detail/save/file_writer-inl.hpp: definitions of h5ser/detail/save/file_writer.hpp (compiled once
// with the compiled core; see h5ser/config.hpp).
#pragma once

#include "h5ser/detail/save/file_writer.hpp"

namespace h5ser::detail {

H5SER_CORE_INLINE file_writer::file_writer(save_mode mode, sealed_file_writer& file, storage_plan storage,
                                           const progress_callback& progress, std::uint64_t total_bytes)
    : mode_(mode), file_(file), plans_(std::move(storage)), progress_(progress), total_bytes_(total_bytes) {}

H5SER_CORE_INLINE std::string_view attribute_owner(const where& at, std::string_view name) noexcept {
    const std::string_view path = at.h5;
    if (path.size() <= name.size() + 1) return "/";
    return path.substr(0, path.size() - name.size() - 1);
}

H5SER_CORE_INLINE void storage_stack::push(const storage_plan& field, bool names_compact, const std::vector<std::size_t>& chunks) {
    storage_plan plan = plans_.back().overridden_by(field, names_compact);
    if (!chunks.empty()) {  // a chunk shape given at run time, in the field's h5ser::stored wrapper
        plan.layout = layout_kind::chunked;
        plan.chunk_dims = chunks;
        plan.chunks_for_one_field = true;
    }
    plans_.push_back(std::move(plan));
}

H5SER_CORE_INLINE void file_writer::dataset(std::string_view name, const tensor_view& tensor, const where& at, bool optimizer) {
    const written_tensor w = write_dataset(parent(), name, tensor, plists(), plan(), at, file_.writeback());
    record_dataset(name, tensor.dtype(), w, tensor.bytes(), at, optimizer);
}

H5SER_CORE_INLINE void file_writer::attribute(std::string_view name, const attribute_view& value, const where& at, bool optimizer) {
    write_attribute(parent(), name, value, at, plists().attributes());
    file_.add_attribute(attribute_owner(at, name), name, value);
    std::optional<std::size_t> list_length;
    if (value.is_list) list_length = value.count;
    record_attribute(name, value.dtype, list_length, optimizer);
}

H5SER_CORE_INLINE void file_writer::push_storage(const storage_plan& field, bool names_compact, const std::vector<std::size_t>& chunks) {
    plans_.push(field, names_compact, chunks);
}

H5SER_CORE_INLINE void file_writer::pop_storage() { plans_.pop(); }

H5SER_CORE_INLINE void file_writer::absent(std::string_view name, const where&) {
    if (mode_ == save_mode::weights_only) return;
    schema_.begin_object(name);
    schema_.string("kind", "absent");
    schema_.end_object();
}

H5SER_CORE_INLINE void file_writer::begin(std::string_view name, const where& at, const container_info& info) {
    groups_.push_back(create_group(parent(), name, plists(), at));
    file_.add_group(at.h5);
    if (mode_ == save_mode::weights_only) return;
    open_schema(name, info.optimizer);
    if (info.kind == field_kind::sequence) {
        schema_.string("kind", "sequence");
        schema_.number("length", info.length);
        schema_.begin_object("elements");
    } else if (info.kind == field_kind::map) {
        schema_.string("kind", "map");
        schema_.begin_object("entries");
    } else {
        schema_.string("kind", "group");
        schema_.string("type", info.type_name);
        schema_.begin_object("fields");
    }
}

H5SER_CORE_INLINE void file_writer::end(const container_info&) {
    groups_.pop_back();
    if (mode_ == save_mode::weights_only) return;
    schema_.end_object();
    schema_.end_object();
}

H5SER_CORE_INLINE void file_writer::version(const where& at, std::string_view type_name, int version) {
    write_attribute(parent(), format::struct_version_attribute, version, at, plists().attributes());
    file_.add_attribute(at.h5, format::struct_version_attribute, attribute_view_of(version));
    for (const auto& [type, v] : versions_)
        if (type == type_name) return;
    versions_.emplace_back(type_name, version);
}

H5SER_CORE_INLINE void file_writer::record_dataset(std::string_view name, std::string_view dtype, const written_tensor& w,
                                                   std::uint64_t bytes, const where& at, bool optimizer) {
    file_.add_tensor(at.h5, dtype, w, plan());
    if (progress_) {
        done_bytes_ += bytes;
        progress_(done_bytes_, total_bytes_);
    }
    if (mode_ == save_mode::weights_only) return;
    open_schema(name, optimizer);
    schema_.string("kind", "dataset");
    schema_.string("dtype", dtype);
    schema_.begin_array("shape");
    for (std::size_t i = 0; i < w.rank; ++i) schema_.number({}, w.dims[i]);
    schema_.end_array();
    schema_.end_object();
}

H5SER_CORE_INLINE void file_writer::record_attribute(std::string_view name, std::string_view dtype, std::optional<std::size_t> list_length,
                                                     bool optimizer) {
    if (mode_ == save_mode::weights_only) return;
    open_schema(name, optimizer);
    schema_.string("kind", "attribute");
    schema_.string("dtype", dtype);
    if (list_length) {
        schema_.begin_array("shape");
        schema_.number({}, *list_length);
        schema_.end_array();
    }
    schema_.end_object();
}

H5SER_CORE_INLINE void file_writer::open_schema(std::string_view name, bool optimizer) {
    schema_.begin_object(name);
    if (optimizer) schema_.boolean("optimizer_state", true);
}

H5SER_CORE_INLINE void file_writer::finish(std::string_view model_type) {
    if (mode_ == save_mode::weights_only) {
        file_.write_root_attributes(mode_);
        return;
    }
    schema_.end_object();  // fields
    if (!versions_.empty()) {
        // "versions": {"Dense": 3, "Model": 2}: the h5ser::evolution version of each struct type saved.
        schema_.begin_object("versions");
        for (const auto& [type, v] : versions_) schema_.number(type, v);
        schema_.end_object();
    }
    schema_.end_object();  // the model
    file_.write_root_attributes(mode_, model_type, schema_.str());
}

}  // namespace h5ser::detail
