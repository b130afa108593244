/*
 * fuzz_icc.c: embedded ICC profile handling (src/colour.c: embedded_profile
 * opens the profile from memory and checks it fits the pixels, then
 * smp_colour_to_lab builds the LittleCMS transform to Lab and converts).
 *
 * In:  the fuzz input as the embedded profile of a small photo: 16 x 4
 *      pixels (a ramp through black, white, the primaries and hair-like
 *      browns), grey when the profile's header says GRAY (ICC.1:2010
 *      7.2.6, bytes 16-19), else RGB; 8-bit when the input's size is even,
 *      16-bit when odd.
 * Out: nothing; aborts when the conversion fails for any cause but memory
 *      (an unusable profile must fall back to sRGB with a reason, issue 7),
 *      or succeeds with non-finite Lab or an unterminated or multi-line
 *      profile description.
 * Not: finding the profile in a JPEG or PNG (fuzz_image.c does that).
 */
#include <math.h>
#include <string.h>

#include "colour.h"
#include "fuzz.h"
#include "image.h"

#define W 16
#define H 4

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    return 0;
}

/* Sample i of the ramp, 0..255. */
static unsigned ramp(size_t i)
{
    static const unsigned char v[] = {0, 255, 128, 1, 254, 60, 40, 30, 200, 150, 90, 20, 10, 240};
    return v[i % sizeof v];
}

static void fill(unsigned char *px, int channels, int bits)
{
    size_t n = (size_t)W * H * (size_t)channels;
    for (size_t i = 0; i < n; i++) {
        unsigned v = ramp(i * 7 + i / 3);
        if (bits == 16) {
            uint16_t s = (uint16_t)(v * 257u);
            memcpy(px + 2 * i, &s, 2);
        } else {
            px[i] = (unsigned char)v;
        }
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size == 0)
        return 0; /* no profile is the untagged path, not this target's */
    unsigned char px[W * H * 3 * 2];
    smp_image img;
    memset(&img, 0, sizeof img);
    img.width = W;
    img.height = H;
    img.channels = size >= 20 && memcmp(data + 16, "GRAY", 4) == 0 ? 1 : 3;
    img.bits = size % 2 ? 16 : 8;
    img.stride = (size_t)W * (size_t)img.channels * (size_t)(img.bits / 8);
    img.pixels = px;
    img.format = SMP_FORMAT_JPEG;
    img.orientation = 1;
    img.scale = (smp_scale){1, W, H, 0, 0};
    img.icc = (unsigned char *)data; /* read only: colour.c takes a const image */
    img.icc_size = size;
    fill(px, img.channels, img.bits);

    smp_lab_image lab;
    smp_colour_info info;
    smp_error err = {SMP_OK, ""};
    smp_status st = smp_colour_to_lab("fuzz.jpg", &img, &lab, &info, &err);
    if (st != SMP_OK) {
        /* Issue 7: a broken or nonsensical profile falls back to sRGB with
         * a warning; only running out of memory may fail the photo. */
        FUZZ_CHECK(st == SMP_E_NOMEM);
        FUZZ_CHECK(err.message[0] != 0 && strchr(err.message, '\n') == NULL);
        FUZZ_CHECK(lab.lab == NULL && lab.flags == NULL);
        return 0;
    }
    FUZZ_CHECK(lab.width == W && lab.height == H);
    FUZZ_CHECK(memchr(info.profile, 0, sizeof info.profile) != NULL);
    FUZZ_CHECK(info.profile[0] != 0);
    FUZZ_CHECK(!info.assumed); /* a tagged photo is never "assumed" sRGB */
    if (info.fallback)
        FUZZ_CHECK(info.fallback_reason[0] != 0 &&
                   memchr(info.fallback_reason, 0, sizeof info.fallback_reason) != NULL);
    for (const char *c = info.profile; *c; c++)
        FUZZ_CHECK((unsigned char)*c >= 0x20 && *c != 0x7f); /* one printable line */
    for (size_t i = 0; i < (size_t)3 * W * H; i++)
        FUZZ_CHECK(isfinite(lab.lab[i]));
    smp_lab_image_release(&lab);
    return 0;
}
