/* Our constants as a table (see consts_ours.c and test_consts.c). */
#ifndef VTPM_TEST_CONSTS_OURS_H
#define VTPM_TEST_CONSTS_OURS_H
#include <stddef.h>
#include <stdint.h>
struct const_entry {
    const char *name;
    uint64_t value;
};
extern const struct const_entry ours_consts[];
extern const size_t ours_consts_count;
#endif
