/*
 * gen_seeds.c: writes the fuzz seed corpora (tests/fuzz/corpus/<name>/).
 *
 * In:  the source tree (samples/, palettes/, tests/data/).
 * Out: small files in OUT/<target>/: photos made from samples/ reduced to
 *      64-128 px by the library's own loader and written again with
 *      tools/encode.c (and libpng directly for the interlaced PNG) in every
 *      variant the loader must handle; ICC profiles made with LittleCMS;
 *      the palettes copied; option strings. tests/fuzz/README.md lists them.
 * Not: run by the build or the tests. Run it by hand when the seeds should
 *      change:  cmake --build BUILD --target smp-fuzz-seeds &&
 *               BUILD/tests/fuzz/smp-fuzz-seeds SOURCE_DIR SOURCE_DIR/tests/fuzz/corpus
 *      (in a sanitizer build with ASAN_OPTIONS=detect_leaks=0: a one-shot
 *      tool, it does not free what it made)
 *      (test code: it prints and exits on failure).
 */
#include <lcms2.h>
#include <png.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "encode.h"
#include "image.h"

static const char *src_dir, *out_dir;

static void die(const char *what)
{
    fprintf(stderr, "smp-fuzz-seeds: %s\n", what);
    exit(1);
}

static void out_path(char *buf, size_t n, const char *target, const char *file)
{
    snprintf(buf, n, "%s/%s", out_dir, target);
    mkdir(buf, 0777);
    snprintf(buf, n, "%s/%s/%s", out_dir, target, file);
}

static void write_bytes(const char *target, const char *file, const void *data, size_t size)
{
    char p[4096];
    out_path(p, sizeof p, target, file);
    FILE *f = fopen(p, "wb");
    if (!f || fwrite(data, 1, size, f) != size || fclose(f) != 0)
        die(p);
}

/* A photo with `prefix` (4 option bytes, fuzz_pipeline.c) in front. */
static void write_prefixed(const char *file, const unsigned char prefix[4], const void *data,
                           size_t size)
{
    unsigned char *buf = malloc(size + 4);
    if (!buf)
        die("out of memory");
    memcpy(buf, prefix, 4);
    memcpy(buf + 4, data, size);
    write_bytes("pipeline", file, buf, size + 4);
    free(buf);
}

static unsigned char *read_source(const char *rel, size_t *size)
{
    char p[4096];
    snprintf(p, sizeof p, "%s/%s", src_dir, rel);
    FILE *f = fopen(p, "rb");
    if (!f)
        die(p);
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    unsigned char *buf = malloc((size_t)n + 1);
    if (!buf || fread(buf, 1, (size_t)n, f) != (size_t)n)
        die(p);
    fclose(f);
    *size = (size_t)n;
    return buf;
}

static void copy_source(const char *target, const char *rel, const char *file)
{
    size_t n;
    unsigned char *b = read_source(rel, &n);
    write_bytes(target, file, b, n);
    free(b);
}

/* 8-bit RGB pixels of a sample, reduced by the loader to about `size` px. */
typedef struct pic {
    int w, h;
    unsigned char *rgb;
} pic;

static pic load_sample(const char *rel, int size)
{
    char p[4096];
    snprintf(p, sizeof p, "%s/samples/%s", src_dir, rel);
    smp_load_limits lim = {.analysis_size = size};
    smp_image img;
    smp_error err;
    if (smp_image_load_file(p, &lim, &img, &err) != SMP_OK)
        die(err.message);
    if (img.channels != 3 || img.bits != 8)
        die("sample is not 8-bit RGB");
    pic r = {img.width, img.height, malloc((size_t)img.width * img.height * 3)};
    for (int y = 0; y < img.height; y++)
        memcpy(r.rgb + (size_t)y * img.width * 3, img.pixels + (size_t)y * img.stride,
               (size_t)img.width * 3);
    smp_image_release(&img);
    return r;
}

/* Halves a picture (2x2 box). */
static pic half(pic a)
{
    pic r = {a.w / 2, a.h / 2, malloc((size_t)(a.w / 2) * (a.h / 2) * 3)};
    for (int y = 0; y < r.h; y++)
        for (int x = 0; x < r.w; x++)
            for (int c = 0; c < 3; c++) {
                unsigned s = 0;
                for (int k = 0; k < 4; k++)
                    s += a.rgb[((size_t)(2 * y + k / 2) * a.w + 2 * x + k % 2) * 3 + c];
                r.rgb[((size_t)y * r.w + x) * 3 + c] = (unsigned char)(s / 4);
            }
    return r;
}

static unsigned char *channel_map(pic a, int out_channels)
{
    size_t n = (size_t)a.w * a.h;
    unsigned char *o = malloc(n * (size_t)out_channels);
    for (size_t i = 0; i < n; i++) {
        const unsigned char *p = a.rgb + 3 * i;
        unsigned grey = (299u * p[0] + 587u * p[1] + 114u * p[2]) / 1000u;
        if (out_channels == 1)
            o[i] = (unsigned char)grey;
        else if (out_channels == 4) /* CMYK, not inverted (encode.h) */
            for (int c = 0; c < 4; c++)
                o[4 * i + c] = (unsigned char)(c < 3 ? 255 - p[c] : 0);
    }
    return o;
}

static void jpeg_seed(const char *file, pic a, int components, const enc_jpeg_opts *o,
                      unsigned char **keep, size_t *keep_size)
{
    unsigned char *px = components == 3 ? a.rgb : channel_map(a, components);
    unsigned char *buf;
    size_t n;
    if (enc_jpeg(NULL, &buf, &n, px, a.w, a.h, components, o) != 0)
        die(file);
    write_bytes("image", file, buf, n);
    if (px != a.rgb)
        free(px);
    if (keep) {
        *keep = buf;
        *keep_size = n;
    } else {
        free(buf);
    }
}

static void png_seed(const char *file, const void *px, int w, int h, enc_png_type t,
                     const enc_png_opts *o, unsigned char **keep, size_t *keep_size)
{
    unsigned char *buf;
    size_t n;
    if (enc_png(NULL, &buf, &n, px, w, h, t, o) != 0)
        die(file);
    write_bytes("image", file, buf, n);
    if (keep) {
        *keep = buf;
        *keep_size = n;
    } else {
        free(buf);
    }
}

/* An Adam7-interlaced 8-bit RGB PNG (encode.c writes only non-interlaced). */
static void png_interlaced(const char *file, pic a)
{
    char p[4096];
    out_path(p, sizeof p, "image", file);
    FILE *f = fopen(p, "wb");
    png_structp png = png_create_write_struct(PNG_LIBPNG_VER_STRING, NULL, NULL, NULL);
    png_infop info = png ? png_create_info_struct(png) : NULL;
    if (!f || !info || setjmp(png_jmpbuf(png)))
        die(p);
    png_init_io(png, f);
    png_set_IHDR(png, info, (png_uint_32)a.w, (png_uint_32)a.h, 8, PNG_COLOR_TYPE_RGB,
                 PNG_INTERLACE_ADAM7, PNG_COMPRESSION_TYPE_DEFAULT, PNG_FILTER_TYPE_DEFAULT);
    png_write_info(png, info);
    png_bytep *rows = malloc((size_t)a.h * sizeof *rows);
    for (int y = 0; y < a.h; y++)
        rows[y] = a.rgb + (size_t)y * a.w * 3;
    png_write_image(png, rows);
    png_write_end(png, NULL);
    png_destroy_write_struct(&png, &info);
    free(rows);
    if (fclose(f) != 0)
        die(p);
}

static unsigned char *profile_to_mem(cmsHPROFILE prof, size_t *size)
{
    cmsUInt32Number n = 0;
    if (!prof || !cmsSaveProfileToMem(prof, NULL, &n))
        die("cannot save a profile");
    unsigned char *b = malloc(n);
    if (!cmsSaveProfileToMem(prof, b, &n))
        die("cannot save a profile");
    cmsCloseProfile(prof);
    *size = n;
    return b;
}

static void icc_seeds(void)
{
    size_t n;
    unsigned char *b = enc_icc_srgb(&n);
    write_bytes("icc", "srgb_v4.icc", b, n);
    write_bytes("icc", "srgb_truncated.icc", b, n / 3);
    free(b);
    b = enc_icc_display_p3(&n);
    write_bytes("icc", "display_p3.icc", b, n);
    free(b);
    b = enc_icc_adobe_rgb(&n);
    write_bytes("icc", "adobe_rgb.icc", b, n);
    free(b);

    cmsHPROFILE p = cmsCreate_sRGBProfile();
    cmsSetProfileVersion(p, 2.1);
    b = profile_to_mem(p, &n);
    write_bytes("icc", "srgb_v2.icc", b, n);
    free(b);

    cmsCIExyY white;
    cmsXYZ2xyY(&white, cmsD50_XYZ());
    cmsToneCurve *g22 = cmsBuildGamma(NULL, 2.2);
    b = profile_to_mem(cmsCreateGrayProfile(&white, g22), &n);
    cmsFreeToneCurve(g22);
    write_bytes("icc", "grey_gamma22.icc", b, n);
    free(b);

    b = profile_to_mem(cmsCreateLab4Profile(NULL), &n); /* abstract: must be refused */
    write_bytes("icc", "lab_abstract.icc", b, n);
    free(b);
}

static void palette_seeds(void)
{
    copy_source("palette_csv", "palettes/default.csv", "default.csv");
    copy_source("palette_csv", "tests/data/palette_example.csv", "example.csv");
    copy_source("palette_csv", "tests/data/palette_ladder.csv", "ladder.csv");
    copy_source("palette_csv", "tests/data/palette_srgb_refdata.csv", "srgb_refdata.csv");
    static const char bom_crlf[] =
        "\xEF\xBB\xBF# exported from a spreadsheet\r\n"
        "name,code,hex,brand,kind,notes\r\n"
        "\"Black, neat\",B1,#1e1b1a,Clinic,pigment,\"measured \"\"healed\"\"\"\r\n"
        "Water,W,,Clinic,diluent,\r\n";
    write_bytes("palette_csv", "bom_crlf_hex.csv", bom_crlf, sizeof bom_crlf - 1);

    copy_source("palette_cgats", "tests/data/palette_lab.it8", "lab.it8");
    copy_source("palette_cgats", "tests/data/palette_rgb.it8", "rgb.it8");
    copy_source("palette_cgats", "tests/data/palette_broken.it8", "broken.it8");
    /* No first line: fuzz_palette_cgats.c puts "CGATS.17" in front. */
    static const char headless[] = "NUMBER_OF_FIELDS 4\nBEGIN_DATA_FORMAT\n"
                                   "SAMPLE_ID LAB_L LAB_A LAB_B\nEND_DATA_FORMAT\n"
                                   "NUMBER_OF_SETS 2\nBEGIN_DATA\n1 20.5 0.1 -0.4\n2 45 2 6\n"
                                   "END_DATA\n";
    write_bytes("palette_cgats", "headless.it8", headless, sizeof headless - 1);
}

static void option_seeds(void)
{
    static const struct {
        const char *file, *text;
    } s[] = {
        {"rects.txt", "10,20,30,40\n0,0,1,1\n1000000,1000000,1000000,1000000\n"},
        {"rects_bad.txt", "1,2,3\n-1,2,3,4\n1,2,0,4\n1, 2,3,4\n1000001,0,1,1\n"
                          "99999999999999999999,1,1,1\n1,2,3,4,\n"},
        {"areas.txt", "crown=100,80,200,150\nscar_1=5,5,20,10\ntemple-left=0,0,8,8\n"
                      "=1,1,1,1\nbad name=1,1,1,1\n"
                      "abcdefghijklmnopqrstuvwxyz012345=1,1,1,1\n"},
        {"metrics.txt", "de2000\nde94\nde76\ncmc\nDE2000\n\nde\n"},
        {"numbers.txt", "20\n0.5\n-1.5\n60\n12\n18\n0.04\n0.004\n"},
        {"numbers_edge.txt", "0\n128\n-128\n100\n-128\n127\n1\n0.1\n"},
        {"numbers_bad.txt", "nan\ninf\n1e308\n-0\n50\n0\n-0.04\n0.004\n"},
    };
    for (size_t i = 0; i < sizeof s / sizeof s[0]; i++)
        write_bytes("options", s[i].file, s[i].text, strlen(s[i].text));
    /* A TIFF/EXIF block, little-endian, one IFD entry: Orientation (0x0112)
     * SHORT 1 = 6 (TIFF 6.0 section 2; EXIF 2.32 4.6.4). */
    static const unsigned char exif[] = {'I', 'I', 42, 0, 8, 0, 0, 0, 1, 0, 0x12, 0x01, 3, 0,
                                         1, 0, 0, 0, 6, 0, 0, 0, 0, 0, 0, 0};
    write_bytes("options", "exif_orientation6.bin", exif, sizeof exif);
}

int main(int argc, char **argv)
{
    if (argc != 3)
        die("usage: smp-fuzz-seeds SOURCE_DIR OUT_DIR");
    src_dir = argv[1];
    out_dir = argv[2];
    mkdir(out_dir, 0777);

    size_t n_srgb, n_p3, n_adobe;
    unsigned char *srgb = enc_icc_srgb(&n_srgb), *p3 = enc_icc_display_p3(&n_p3),
                  *adobe = enc_icc_adobe_rgb(&n_adobe);

    /* 1024x768 samples reduced by 8 (analysis size 128): 128x96. */
    pic crown = load_sample("crown_dark_on_light.jpg", 128);
    pic auburn = load_sample("crown_auburn_srgb_icc.jpg", 128);
    pic side = load_sample("side_lightbrown_orient6.jpg", 128); /* upright: 96x128 */
    pic temple = half(load_sample("temple_brown_p3.jpg", 128));
    pic blond = load_sample("frontal_blond_adobergb.jpg", 128);
    pic grey = half(load_sample("temple_grey_on_tan.jpg", 128));
    pic card = load_sample("part_dark_on_brown_cast_card.jpg", 128);
    pic part = load_sample("part_grey_on_dark.png", 80); /* 640x480 by 8: 80x60 */
    pic small = half(half(crown));                          /* 32x24 */

    unsigned char *j1, *j2, *j3, *p1, *p2, *p3b;
    size_t n1, n2, n3, m1, m2, m3;
    jpeg_seed("crown_baseline.jpg", crown, 3, &(enc_jpeg_opts){85, 0, 1, 0, NULL, 0}, &j1, &n1);
    jpeg_seed("auburn_progressive_srgb_icc.jpg", auburn, 3,
              &(enc_jpeg_opts){85, 1, 1, 0, srgb, n_srgb}, &j2, &n2);
    jpeg_seed("side_exif_orientation6.jpg", side, 3, &(enc_jpeg_opts){85, 0, 1, 6, NULL, 0}, &j3, &n3);
    jpeg_seed("temple_p3_444.jpg", temple, 3, &(enc_jpeg_opts){90, 0, 0, 0, p3, n_p3}, NULL, NULL);
    jpeg_seed("blond_adobe_orientation3.jpg", blond, 3,
              &(enc_jpeg_opts){80, 0, 1, 3, adobe, n_adobe}, NULL, NULL);
    jpeg_seed("grey_on_tan_greyscale.jpg", grey, 1, &(enc_jpeg_opts){85, 1, 0, 8, NULL, 0}, NULL, NULL);
    jpeg_seed("cmyk.jpg", small, 4, &(enc_jpeg_opts){85, 0, 0, 0, NULL, 0}, NULL, NULL);
    write_bytes("image", "crown_truncated.jpg", j1, n1 * 3 / 5);

    png_seed("part_rgb8.png", part.rgb, part.w, part.h, ENC_PNG_RGB, &(enc_png_opts){.bits = 8},
             &p1, &m1);
    /* 16-bit: each 8-bit value v as v * 257, with gAMA 1/2.2 and Rec. 709 cHRM. */
    size_t np = (size_t)temple.w * temple.h * 3;
    uint16_t *wide = malloc(np * 2);
    for (size_t i = 0; i < np; i++)
        wide[i] = (uint16_t)(temple.rgb[i] * 257u);
    png_seed("temple_rgb16_gama_chrm.png", wide, temple.w, temple.h, ENC_PNG_RGB,
             &(enc_png_opts){.bits = 16, .gama_chrm = 1, .gamma = 1 / 2.2,
                             .chrm = {0.3127, 0.3290, 0.64, 0.33, 0.30, 0.60, 0.15, 0.06}},
             &p2, &m2);
    free(wide);
    png_interlaced("card_interlaced.png", half(card));
    /* Palette PNG: 6 levels a channel, 216 colours (encode.h: at most 256). */
    pic q = half(crown);
    for (size_t i = 0; i < (size_t)q.w * q.h * 3; i++)
        q.rgb[i] = (unsigned char)((q.rgb[i] * 6 / 256) * 51);
    png_seed("crown_palette.png", q.rgb, q.w, q.h, ENC_PNG_PALETTE, &(enc_png_opts){.bits = 8},
             NULL, NULL);
    unsigned char *g = channel_map(grey, 1);
    png_seed("grey8_srgb_chunk.png", g, grey.w, grey.h, ENC_PNG_GREY,
             &(enc_png_opts){.bits = 8, .srgb_chunk = 1}, NULL, NULL);
    /* Grey + alpha, 16-bit: the left quarter transparent. */
    size_t ng = (size_t)grey.w * grey.h;
    uint16_t *ga = malloc(ng * 4);
    for (size_t i = 0; i < ng; i++) {
        ga[2 * i] = (uint16_t)(g[i] * 257u);
        ga[2 * i + 1] = (int)(i % (size_t)grey.w) < grey.w / 4 ? 0 : 65535;
    }
    png_seed("grey16_alpha.png", ga, grey.w, grey.h, ENC_PNG_GREY_ALPHA,
             &(enc_png_opts){.bits = 16}, NULL, NULL);
    free(ga);
    /* RGBA with a transparent border, and a P3 iCCP. */
    unsigned char *rgba = malloc((size_t)small.w * small.h * 4);
    for (int y = 0; y < small.h; y++)
        for (int x = 0; x < small.w; x++) {
            unsigned char *o = rgba + ((size_t)y * small.w + x) * 4;
            memcpy(o, small.rgb + ((size_t)y * small.w + x) * 3, 3);
            o[3] = (x < 2 || y < 2 || x >= small.w - 2 || y >= small.h - 2) ? 0 : 255;
        }
    png_seed("crown_rgba_iccp_p3.png", rgba, small.w, small.h, ENC_PNG_RGBA,
             &(enc_png_opts){.bits = 8, .icc = p3, .icc_size = n_p3}, &p3b, &m3);
    free(rgba);
    /* A mask: the middle of a 64x48 frame in (fuzz_image.c mask mode). */
    unsigned char mask[64 * 48];
    for (int i = 0; i < 64 * 48; i++)
        mask[i] = (i % 64 >= 16 && i % 64 < 48 && i / 64 >= 12 && i / 64 < 36) ? 255 : 0;
    png_seed("mask64x48.png", mask, 64, 48, ENC_PNG_GREY, &(enc_png_opts){.bits = 8}, NULL, NULL);
    write_bytes("image", "part_truncated.png", p1, m1 / 2);

    /* The pipeline: photos behind option bytes (fuzz_pipeline.c). */
    write_prefixed("auto_crown.bin", (const unsigned char[4]){0, 5 << 2, 0, 0}, j1, n1);
    write_prefixed("rois_auburn.bin", (const unsigned char[4]){1, 3 << 2 | 1, 0, 0x21}, j2, n2);
    write_prefixed("areas_side_orient6.bin", (const unsigned char[4]){2 | 4, 2, 1, 0x32}, j3, n3);
    write_prefixed("direct_first_part.bin", (const unsigned char[4]){8 | 16 | 32, 1 << 2 | 3, 2, 0},
                   p1, m1);
    write_prefixed("fitz_rgb16.bin", (const unsigned char[4]){128 | 64 | 3, 10 << 2, 3 | 4 << 2, 0x13},
                   p2, m2);
    write_prefixed("veil_rgba.bin", (const unsigned char[4]){0, 4 << 2, 8 | 32, 0}, p3b, m3);

    free(j1), free(j2), free(j3), free(p1), free(p2), free(p3b);
    free(g), free(srgb), free(p3), free(adobe);
    icc_seeds();
    palette_seeds();
    option_seeds();
    return 0;
}
