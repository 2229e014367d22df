// h5ser/detail/save/save_file-inl.hpp: definitions of h5ser/detail/save/save_file.hpp (compiled once with the
// compiled core; see h5ser/config.hpp).
#pragma once

#include "h5ser/detail/save/save_file.hpp"

namespace h5ser::detail {

H5SER_CORE_INLINE void begin_schema(file_writer& writer, save_mode mode, std::string_view model_type) {
    if (mode == save_mode::weights_only) return;
    writer.schema().begin_object();
    writer.schema().number("h5ser_schema", 1);
    writer.schema().string("type", model_type);
    writer.schema().string("kind", "group");
    writer.schema().begin_object("fields");
}

H5SER_CORE_INLINE void save_walk_of(save_mode mode, const std::string& path, const model_to_save& model, const storage_plan& storage,
                                    const root_attributes_to_save& extra, const progress_callback& progress, file_target target) {
    hdf5_scope hdf5;
    save_census counter(storage);
    model.run(counter, model.walk, where{path, {}, "/"});
    extra_attributes_census census{counter.manifest};
    if (extra.count) extra.count(census, extra.extra);
    std::optional<sealed_file_writer> file;
    if (target == file_target::write_in_place) file.emplace(in_place_t{}, path, counter.count, counter.manifest.size());
    else file.emplace(path, counter.count, counter.manifest.size());
    file_writer writer(mode, *file, storage, progress, counter.bytes);
    write_walk(writer, writer, mode, model.model_type, [&](save_sink& sink, const where& root) { model.run(sink, model.walk, root); });
    extra_attributes_writer extra_writer{*file};
    if (extra.write) extra.write(extra_writer, extra.extra);
    file->close();
    file->seal_and_commit();
    if (progress) progress(counter.bytes, counter.bytes);  // durable now
}

}  // namespace h5ser::detail
