/*
 * fuzz_palette_cgats.c: CGATS.17 / IT8 palettes (smp_palette_load_memory,
 * src/palette.c, LittleCMS's IT8 parser underneath).
 *
 * In:  the fuzz input as a palette file. When it does not start (after a
 *      UTF-8 BOM) with "CGATS" or "IT8", which palette.c needs to take it for
 *      CGATS, a "CGATS.17" line is put in front, so every input reaches the
 *      CGATS reader.
 * Out: nothing; aborts when a loaded palette breaks palette_check.h's
 *      promises or an error names no file.
 * Not: CSV.
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

static int has_cgats_start(const uint8_t *p, size_t n)
{
    if (n >= 3 && p[0] == 0xEF && p[1] == 0xBB && p[2] == 0xBF) {
        p += 3;
        n -= 3;
    }
    const char *words[2] = {"CGATS", "IT8"};
    for (int w = 0; w < 2; w++) {
        size_t k = strlen(words[w]), i = 0;
        while (i < k && i < n && toupper(p[i]) == words[w][i])
            i++;
        if (i == k) {
            /* palette.c: and no comma on that first line. */
            for (size_t j = k; j < n && p[j] != '\n' && p[j] != '\r'; j++)
                if (p[j] == ',')
                    return 0;
            return 1;
        }
    }
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (has_cgats_start(data, size)) {
        check_palette_load("fuzz.it8", data, size);
        return 0;
    }
    static const char head[] = "CGATS.17\n";
    size_t n = sizeof head - 1 + size;
    unsigned char *buf = malloc(n);
    if (!buf)
        return 0;
    memcpy(buf, head, sizeof head - 1);
    if (size)
        memcpy(buf + sizeof head - 1, data, size);
    check_palette_load("fuzz.it8", buf, n);
    free(buf);
    return 0;
}
