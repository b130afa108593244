/*
 * fuzz_image.c: photo loading from memory, every format the loader's
 * sniffing dispatch knows (smp_image_load_memory, src/image.c).
 *
 * In:  the fuzz input as a whole photo file, untouched (so real photos are
 *      seeds); the loader's settings come from (size + last byte) % 8, which
 *      real files vary and mutations reach: the default analysis size, full
 *      resolution, small analysis sizes that make 64-256 px seeds take the
 *      reduced-decoding paths, and mask decoding (with and without a grid),
 *      as regions.c loads mask files.
 * Out: nothing; aborts when a loaded image breaks image.h's promises, or a
 *      failure leaves no message or a non-empty image. A loaded photo of up
 *      to 64k pixels also goes through colour.c, so fuzzed PNG gAMA/cHRM
 *      values and embedded profiles reach LittleCMS, and its Lab must be
 *      finite.
 * Not: the rest of the pipeline (fuzz_pipeline.c).
 */
#include <math.h>
#include <string.h>

#include "colour.h"
#include "fuzz.h"
#include "image.h"

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    return 0;
}

/* Sums every byte the image says it owns: AddressSanitizer then checks the
 * buffers are as large as width, height, stride and icc_size claim. */
static unsigned touch(const smp_image *img)
{
    unsigned sum = 0;
    size_t row = (size_t)img->width * (size_t)img->channels * (size_t)(img->bits / 8);
    FUZZ_CHECK(img->stride >= row);
    for (int y = 0; y < img->height; y++)
        for (size_t i = 0; i < row; i++)
            sum += img->pixels[(size_t)y * img->stride + i];
    if (img->valid)
        for (size_t i = 0; i < (size_t)img->width * (size_t)img->height; i++)
            sum += img->valid[i];
    for (size_t i = 0; i < img->icc_size; i++)
        sum += img->icc[i];
    return sum;
}

static void check_image(const smp_image *img, const smp_load_limits *lim)
{
    FUZZ_CHECK(img->pixels != NULL);
    FUZZ_CHECK(img->width > 0 && img->height > 0);
    FUZZ_CHECK(img->channels == 1 || img->channels == 3);
    FUZZ_CHECK(img->bits == 8 || img->bits == 16);
    FUZZ_CHECK(img->orientation >= 1 && img->orientation <= 8);
    FUZZ_CHECK(img->format != SMP_FORMAT_UNKNOWN);
    FUZZ_CHECK((img->icc == NULL) == (img->icc_size == 0));
    FUZZ_CHECK(img->icc_size <= smp_max_icc_bytes(lim));
    const smp_scale *s = &img->scale;
    FUZZ_CHECK(s->factor == 1 || s->factor == 2 || s->factor == 4 || s->factor == 8);
    FUZZ_CHECK(s->full_width > 0 && s->full_height > 0);
    FUZZ_CHECK((size_t)s->full_width * (size_t)s->full_height <= lim->max_pixels);
    FUZZ_CHECK(s->off_x >= 0 && s->off_x < s->factor && s->off_y >= 0 && s->off_y < s->factor);
    /* The reduced image covers the photo: ceil((full + off) / factor). */
    FUZZ_CHECK(img->width == (s->full_width + s->off_x + s->factor - 1) / s->factor);
    FUZZ_CHECK(img->height == (s->full_height + s->off_y + s->factor - 1) / s->factor);
    if (lim->mask && img->format == SMP_FORMAT_PNG) { /* JPEG ignores mask mode */
        FUZZ_CHECK(img->channels == 1 && img->bits == 8 && img->valid == NULL);
        for (int y = 0; y < img->height; y++)
            for (int x = 0; x < img->width; x++) {
                unsigned char v = img->pixels[(size_t)y * img->stride + (size_t)x];
                FUZZ_CHECK(v == 0 || v == 255);
            }
    }
    (void)touch(img);
}

static void check_colour(const smp_image *img)
{
    smp_lab_image lab;
    smp_colour_info info;
    smp_error err = {SMP_OK, ""};
    if (smp_colour_to_lab("fuzz.img", img, &lab, &info, &err) != SMP_OK) {
        FUZZ_CHECK(err.message[0] != 0);
        FUZZ_CHECK(lab.lab == NULL);
        return;
    }
    FUZZ_CHECK(lab.width == img->width && lab.height == img->height);
    FUZZ_CHECK(memchr(info.profile, 0, sizeof info.profile) != NULL);
    size_t n = (size_t)lab.width * (size_t)lab.height;
    for (size_t i = 0; i < 3 * n; i++)
        FUZZ_CHECK(isfinite(lab.lab[i]));
    smp_lab_image_release(&lab);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    /* Stand-ins for what regions.c passes with a mask file: a photo of
     * 130 x 97 displayed, reduced by 4 with its blocks offset by 1 and 3. */
    static const smp_scale grid = {4, 130, 97, 1, 3};
    /* 4 MP: big enough for any seed, small enough that a header claiming
     * 4 MP still decodes quickly under the sanitizers. */
    smp_load_limits lim = {.max_pixels = (size_t)4 * 1000 * 1000,
                           .max_file_bytes = 0,
                           .max_icc_bytes = (size_t)256 * 1024,
                           .analysis_size = SMP_DEFAULT_ANALYSIS_SIZE};
    unsigned mode = size ? (unsigned)((size + data[size - 1]) % 8) : 0;
    static const int sizes[6] = {SMP_DEFAULT_ANALYSIS_SIZE, 0, 16, 40, 100, 200};
    if (mode < 6) {
        lim.analysis_size = sizes[mode];
    } else {
        lim.mask = 1;
        lim.analysis_size = 50;
        if (mode == 7)
            lim.grid = &grid;
    }

    smp_image img;
    smp_error err = {SMP_OK, ""};
    smp_status st = smp_image_load_memory("fuzz.img", data, size, &lim, &img, &err);
    if (st != SMP_OK) {
        FUZZ_CHECK(err.status == st);
        FUZZ_CHECK(err.message[0] != 0 && strchr(err.message, '\n') == NULL);
        FUZZ_CHECK(img.pixels == NULL && img.valid == NULL && img.icc == NULL);
        return 0;
    }
    check_image(&img, &lim);
    if ((size_t)img.width * (size_t)img.height <= 65536)
        check_colour(&img);
    smp_image_release(&img);
    return 0;
}
