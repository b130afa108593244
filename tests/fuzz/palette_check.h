/*
 * palette_check.h: what fuzz_palette_csv.c and fuzz_palette_cgats.c check
 * after smp_palette_load_memory, shared so both hold a palette to the same
 * promises (smpmatch.h "Palettes", src/palette.h limits).
 */
#ifndef SMP_FUZZ_PALETTE_CHECK_H
#define SMP_FUZZ_PALETTE_CHECK_H

#include <math.h>
#include <string.h>

#include "fuzz.h"
#include "palette.h"
#include "smpmatch.h"

static void check_string(const char *s)
{
    FUZZ_CHECK(s != NULL);
    (void)strlen(s); /* terminated, inside its buffer (ASan) */
}

static void check_shade(const smp_shade *s)
{
    FUZZ_CHECK(s != NULL);
    check_string(s->name);
    FUZZ_CHECK(s->name[0] != 0);
    check_string(s->code);
    check_string(s->brand);
    check_string(s->notes);
    check_string(s->base);
    check_string(s->palette);
    FUZZ_CHECK(s->kind == SMP_KIND_PIGMENT || s->kind == SMP_KIND_DILUENT);
    /* NaN/inf never reach the output (issue 7): every colour is a number. */
    for (int i = 0; i < 3; i++)
        FUZZ_CHECK(isfinite(s->lab[i]));
    FUZZ_CHECK(isfinite(s->dilution) && s->dilution >= 0);
    /* NAN = the options' value; else within the CLI's ranges (palette.h). */
    FUZZ_CHECK(isnan(s->veil) || (s->veil >= 0 && s->veil <= SMP_PALETTE_MAX_VEIL));
    FUZZ_CHECK(isnan(s->blue_shift) ||
               (s->blue_shift >= 0 && s->blue_shift <= SMP_PALETTE_MAX_BLUE_SHIFT));
}

/* Loads `data` under `name`; on success checks every shade and that the
 * palette copies whole (smp_palette_append). */
static void check_palette_load(const char *name, const void *data, size_t size)
{
    smp_palette *pal = NULL;
    smp_error err = {SMP_OK, ""};
    smp_status st = smp_palette_load_memory(name, data, size, &pal, &err);
    if (st != SMP_OK) {
        FUZZ_CHECK(pal == NULL);
        FUZZ_CHECK(err.status == st);
        FUZZ_CHECK(err.message[0] != 0 && strchr(err.message, '\n') == NULL);
        FUZZ_CHECK(strstr(err.message, name) != NULL); /* names the file */
        return;
    }
    FUZZ_CHECK(pal != NULL);
    size_t n = smp_palette_size(pal);
    FUZZ_CHECK(n >= 1 && n <= SMP_PALETTE_MAX_ENTRIES);
    for (size_t i = 0; i < n; i++)
        check_shade(smp_palette_get(pal, i));
    FUZZ_CHECK(smp_palette_get(pal, n) == NULL);

    smp_palette *copy = NULL;
    FUZZ_CHECK(smp_palette_load_memory(name, data, size, &copy, &err) == SMP_OK);
    if (smp_palette_append(copy, pal, &err) == SMP_OK) {
        FUZZ_CHECK(smp_palette_size(copy) == 2 * n);
        for (size_t i = 0; i < n; i++)
            FUZZ_CHECK(strcmp(smp_palette_get(copy, n + i)->name, smp_palette_get(pal, i)->name) == 0);
    }
    smp_palette_free(copy);
    smp_palette_free(pal);
}

#endif /* SMP_FUZZ_PALETTE_CHECK_H */
