// Wrote the format-1 files of this folder with h5ser 0.1.0 (commit 42cf715). Kept for the record;
// built by no target, since today's h5ser writes format 2.
#include "format1_model.hpp"

int main() {
    const format1::Model m = format1::make_model();
    h5ser::save(m, "full_model.h5");
    h5ser::save<h5ser::weights_only>(m, "weights_only.h5");
    h5ser::checkpoint_manager<format1::Model> checkpoints("checkpoints", {.keep_last = 1});
    checkpoints.save(m, 7, 0.25);
}
