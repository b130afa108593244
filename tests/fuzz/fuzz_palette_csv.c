/*
 * fuzz_palette_csv.c: CSV palettes (smp_palette_load_memory, src/palette.c).
 *
 * In:  the fuzz input as a palette file, untouched. Inputs the loader would
 *      take for CGATS (first line "CGATS..."/"IT8..." or a BEGIN_DATA_FORMAT
 *      line, palette.c's rule) are skipped: fuzz_palette_cgats.c has them.
 * Out: nothing; aborts when a loaded palette breaks palette_check.h's
 *      promises or an error names no file.
 * Not: CGATS.
 */
#include <ctype.h>

#include "fuzz.h"
#include "palette_check.h"

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    return 0;
}

static int starts_ci(const uint8_t *p, size_t n, const char *word)
{
    size_t k = strlen(word);
    if (n < k)
        return 0;
    for (size_t i = 0; i < k; i++)
        if (toupper(p[i]) != word[i])
            return 0;
    return 1;
}

static int looks_cgats(const uint8_t *data, size_t size)
{
    const uint8_t *p = data;
    size_t n = size;
    if (n >= 3 && p[0] == 0xEF && p[1] == 0xBB && p[2] == 0xBF) { /* UTF-8 BOM */
        p += 3;
        n -= 3;
    }
    if (starts_ci(p, n, "CGATS") || starts_ci(p, n, "IT8"))
        return 1;
    static const char key[] = "BEGIN_DATA_FORMAT";
    for (size_t i = 0; i + sizeof key - 1 <= size; i++)
        if (memcmp(data + i, key, sizeof key - 1) == 0)
            return 1;
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (looks_cgats(data, size))
        return 0;
    check_palette_load("fuzz.csv", data, size);
    return 0;
}
