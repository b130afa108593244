/*
 * fuzz_options.c: the text parsers and number-taking helpers the library
 * exposes: smp_rect_parse ("X,Y,W,H"), smp_area_parse ("NAME=X,Y,W,H"),
 * smp_metric_parse, and smp_exif_orientation (image.h, the EXIF block of a
 * JPEG); numbers found in the input go to smp_heal_lab, smp_mix_lab,
 * smp_delta_e, smp_lab_to_hex, smp_ita_category and smp_undertone.
 *
 * In:  the fuzz input split on NUL and newline bytes; each piece is given
 *      to every parser as its own NUL-terminated string (in a buffer of
 *      exactly its size). The whole input also goes to smp_exif_orientation.
 * Out: nothing; aborts when a parser accepts what smpmatch.h says it must
 *      refuse or the reverse (a small reference reader of "X,Y,W,H" written
 *      from the header's words), or when a helper given colours in range
 *      returns a non-finite number.
 * Not: the CLI's own option words (src/cli/main.c).
 */
#include <math.h>
#include <string.h>

#include "fuzz.h"
#include "image.h"
#include "smpmatch.h"

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    return 0;
}

/* smpmatch.h: "X,Y,W,H" of non-negative integers, W and H > 0; smp_rect_parse
 * also refuses values over 10^6 (pipeline.c: larger than any photo). */
static int reference_rect(const char *s, long v[4])
{
    for (int i = 0; i < 4; i++) {
        if (*s < '0' || *s > '9')
            return -1;
        long x = 0;
        while (*s >= '0' && *s <= '9') {
            if (x <= 1000000)
                x = x * 10 + (*s - '0');
            s++;
        }
        if (x > 1000000)
            return -1;
        v[i] = x;
        if (i < 3 && *s++ != ',')
            return -1;
    }
    return *s || v[2] <= 0 || v[3] <= 0 ? -1 : 0;
}

static void check_rect(const char *s)
{
    smp_rect r;
    long v[4];
    int got = smp_rect_parse(s, &r), want = reference_rect(s, v);
    FUZZ_CHECK(got == want);
    if (got == 0)
        FUZZ_CHECK(r.x == v[0] && r.y == v[1] && r.w == v[2] && r.h == v[3]);
}

static void check_area(const char *s)
{
    smp_area_spec a;
    if (smp_area_parse(s, &a) != 0)
        return;
    size_t n = strnlen(a.name, sizeof a.name);
    FUZZ_CHECK(n > 0 && n < sizeof a.name);
    FUZZ_CHECK(strncmp(s, a.name, n) == 0 && s[n] == '=');
    for (size_t i = 0; i < n; i++) {
        char c = a.name[i];
        FUZZ_CHECK((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                   c == '-' || c == '_');
    }
    long v[4];
    FUZZ_CHECK(reference_rect(s + n + 1, v) == 0);
    FUZZ_CHECK(a.rect.x == v[0] && a.rect.y == v[1] && a.rect.w == v[2] && a.rect.h == v[3]);
}

static void check_metric(const char *s)
{
    int m = smp_metric_parse(s);
    FUZZ_CHECK(m >= -1 && m <= 3);
    if (m >= 0)
        FUZZ_CHECK(strcmp(smp_metric_name((smp_metric)m), s) == 0);
}

static int lab_in_range(const double lab[3])
{
    return lab[0] >= 0 && lab[0] <= 100 && fabs(lab[1]) <= 128 && fabs(lab[2]) <= 128;
}

static int finite3(const double v[3])
{
    return isfinite(v[0]) && isfinite(v[1]) && isfinite(v[2]);
}

/* v: 8 numbers from the input: pigment Lab, skin Lab, veil, blue shift. */
static void check_numbers(const double v[8])
{
    const double *pig = v, *skin = v + 3;
    double veil = v[6], blue = v[7], out[3];
    int in_range = lab_in_range(pig) && lab_in_range(skin);

    smp_status st = smp_heal_lab(pig, skin, veil, blue, out);
    if (!(veil >= 0) || !(blue >= 0) || isinf(veil) || isinf(blue))
        FUZZ_CHECK(st == SMP_E_ARG); /* smpmatch.h: negative, infinite or NaN */
    else if (in_range && veil <= 1 && blue <= 0.1) /* the CLI's ranges (palette.h) */
        FUZZ_CHECK(st == SMP_OK && finite3(out));

    double share = fabs(fmod(veil, 1.0));
    st = smp_mix_lab(pig, skin, share, out);
    if (in_range && isfinite(share))
        FUZZ_CHECK(st == SMP_OK && finite3(out));

    for (int m = 0; m < 4; m++) {
        double d = smp_delta_e((smp_metric)m, pig, skin);
        if (in_range)
            FUZZ_CHECK(isfinite(d) && d >= 0);
    }
    char hex[8];
    smp_lab_to_hex(pig, hex);
    FUZZ_CHECK(hex[0] == '#' && strlen(hex) == 7);
    FUZZ_CHECK(smp_ita_category(smp_ita_deg(skin)) != NULL);
    FUZZ_CHECK(smp_undertone(skin) != NULL);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    int o = smp_exif_orientation(data, size);
    FUZZ_CHECK(o >= 1 && o <= 8);

    double nums[8];
    int nnum = 0;
    size_t start = 0;
    for (size_t i = 0; i <= size; i++) {
        if (i < size && data[i] != 0 && data[i] != '\n')
            continue;
        size_t n = i - start;
        char *s = malloc(n + 1);
        if (!s)
            return 0;
        memcpy(s, data + start, n);
        s[n] = 0;
        check_rect(s);
        check_area(s);
        check_metric(s);
        char *end;
        double d = strtod(s, &end);
        if (n > 0 && *end == 0 && nnum < 8)
            nums[nnum++] = d;
        free(s);
        start = i + 1;
    }
    if (nnum == 8)
        check_numbers(nums);
    return 0;
}
